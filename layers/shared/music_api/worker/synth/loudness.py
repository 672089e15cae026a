"""Integrated loudness after ITU-R BS.1770-4 (K-weighting, 400 ms blocks overlapping by 75 %, absolute gate at
-70 LUFS, relative gate 10 LU below), fed in chunks so a track of an hour is measured in bounded memory.

The K-weighting is the standard's two biquads (a high shelf, then a high pass), designed for any sample rate from
their analogue parameters as libebur128 does; at 48 kHz they reproduce the standard's published coefficients. The
filter runs as an FFT convolution with its impulse response cut at 4096 samples (what is cut is 200 dB below its
peak), overlap-add between chunks: numpy has no recursive filter, and a Python loop over every
sample would cost more than the synthesis.
"""

import math
from typing import Final

import numpy as np
import numpy.typing as npt

Audio = npt.NDArray[np.float64]

_SHELF_HZ: Final = 1681.974450955533
_SHELF_GAIN_DB: Final = 3.999843853973347
_SHELF_Q: Final = 0.7071752369554196
_HIGH_PASS_HZ: Final = 38.13547087602444
_HIGH_PASS_Q: Final = 0.5003270373238773
_IMPULSE_SAMPLES: Final = 4096
_FFT_SIZE: Final = 1 << 16
_BLOCK: Final = _FFT_SIZE - _IMPULSE_SAMPLES + 1
_RESPONSE_POINTS: Final = 1 << 16
_OFFSET: Final = -0.691  # the standard's constant: a 997 Hz sine at 0 dBFS in one channel reads -3.01 LUFS
_ABSOLUTE_GATE: Final = -70.0
_RELATIVE_GATE: Final = -10.0
_BLOCK_HOPS: Final = 4  # a 400 ms gating block is four 100 ms hops


def k_weighting(sample_rate: int) -> tuple[tuple[list[float], list[float]], tuple[list[float], list[float]]]:
    """The two stages as ((b, a) of the shelf, (b, a) of the high pass), a[0] == 1."""
    k = math.tan(math.pi * _SHELF_HZ / sample_rate)
    vh = 10 ** (_SHELF_GAIN_DB / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / _SHELF_Q + k * k
    shelf = (
        [(vh + vb * k / _SHELF_Q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / _SHELF_Q + k * k) / a0],
        [1.0, 2 * (k * k - 1) / a0, (1 - k / _SHELF_Q + k * k) / a0],
    )
    k = math.tan(math.pi * _HIGH_PASS_HZ / sample_rate)
    a0 = 1 + k / _HIGH_PASS_Q + k * k
    high_pass = ([1.0, -2.0, 1.0], [1.0, 2 * (k * k - 1) / a0, (1 - k / _HIGH_PASS_Q + k * k) / a0])
    return shelf, high_pass


def _impulse_response(sample_rate: int) -> Audio:
    z = np.exp(-1j * np.pi * np.arange(_RESPONSE_POINTS // 2 + 1) / (_RESPONSE_POINTS // 2))
    response = np.ones_like(z)
    for b, a in k_weighting(sample_rate):
        response *= np.polyval(b[::-1], z) / np.polyval(a[::-1], z)
    return np.fft.irfft(response, _RESPONSE_POINTS)[:_IMPULSE_SAMPLES]


class KWeighting:
    """The K-weighting filter, streaming: ``apply`` takes consecutive chunks of shape (..., samples, 2) (several
    signals at once along the leading axes) and returns them filtered, carrying each signal's tail over."""

    def __init__(self, sample_rate: int) -> None:
        self._spectrum = np.fft.rfft(_impulse_response(sample_rate), _FFT_SIZE)[:, None]
        self._tail: Audio | None = None

    def apply(self, chunk: npt.NDArray[np.floating]) -> Audio:
        count = chunk.shape[-2]
        filtered = np.zeros((*chunk.shape[:-2], count + _IMPULSE_SAMPLES - 1, 2))
        for first in range(0, count, _BLOCK):  # fixed-size blocks: FFTs of one efficient length
            block = chunk[..., first : first + _BLOCK, :]
            convolved = np.fft.irfft(np.fft.rfft(block, _FFT_SIZE, axis=-2) * self._spectrum, _FFT_SIZE, axis=-2)
            end = first + block.shape[-2] + _IMPULSE_SAMPLES - 1
            filtered[..., first:end, :] += convolved[..., : end - first, :]
        if self._tail is not None:
            filtered[..., : _IMPULSE_SAMPLES - 1, :] += self._tail
        self._tail = filtered[..., count:, :]
        return filtered[..., :count, :]


class LoudnessMeter:
    """Feed stereo (frames, 2) chunks in order with ``add`` (or, already K-weighted, with ``add_weighted``);
    ``integrated()`` is the loudness of all of them."""

    def __init__(self, sample_rate: int) -> None:
        self._filter = KWeighting(sample_rate)
        self._hop = round(sample_rate / 10)
        self._partial: Audio = np.zeros((0, 2))
        self._hop_powers: list[npt.NDArray[np.float64]] = []

    def add(self, chunk: npt.NDArray[np.floating]) -> None:
        self.add_weighted(self._filter.apply(chunk))

    def add_weighted(self, weighted: Audio) -> None:
        weighted = np.concatenate([self._partial, weighted])
        whole = len(weighted) // self._hop * self._hop
        squares = np.square(weighted[:whole]).sum(axis=1)  # both channels weigh 1.0 (BS.1770's L and R)
        self._hop_powers.append(squares.reshape(-1, self._hop).mean(axis=1))
        self._partial = weighted[whole:]

    def block_powers(self) -> npt.NDArray[np.float64]:
        """Mean square (K-weighted, summed over channels) of every complete 400 ms block, 100 ms apart."""
        hops = np.concatenate(self._hop_powers) if self._hop_powers else np.zeros(0)
        if len(hops) < _BLOCK_HOPS:
            return np.zeros(0)
        return np.lib.stride_tricks.sliding_window_view(hops, _BLOCK_HOPS).mean(axis=1)

    def integrated(self) -> float:
        """Gated integrated loudness in LUFS; -inf when no block passes the absolute gate."""
        powers = self.block_powers()
        gated = powers[powers > _power(_ABSOLUTE_GATE)]
        if len(gated) == 0:
            return -math.inf
        relative = _loudness(float(gated.mean())) + _RELATIVE_GATE
        gated = gated[gated > _power(relative)]
        return _loudness(float(gated.mean()))

    def short_term(self) -> npt.NDArray[np.float64]:
        """Loudness of 3 s windows every 100 ms (EBU R 128's short-term loudness), in LUFS."""
        hops = np.concatenate(self._hop_powers) if self._hop_powers else np.zeros(0)
        window = 30
        if len(hops) < window:
            return np.zeros(0)
        powers = np.lib.stride_tricks.sliding_window_view(hops, window).mean(axis=1)
        return _OFFSET + 10 * np.log10(np.maximum(powers, 1e-20))


def _loudness(power: float) -> float:
    return _OFFSET + 10 * math.log10(power)


def _power(loudness: float) -> float:
    return float(10 ** ((loudness - _OFFSET) / 10))


def integrated_loudness(audio: npt.NDArray[np.floating], sample_rate: int) -> float:
    """The integrated loudness of one whole stereo signal."""
    meter = LoudnessMeter(sample_rate)
    meter.add(audio)
    return meter.integrated()
