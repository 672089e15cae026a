"""A look-ahead sample-peak limiter that streams: the master's peaks stay under the ceiling, and the stems get the
very same gain, sample by sample, so they still sum to the master.

The gain is the running minimum of the gain each sample needs (ceiling / peak, at most 1) over +-W/2, smoothed by
a moving average over +-W/2: every sample's gain is then at most what it needs (each minimum averaged includes
it), and it moves over W samples instead of jumping. It needs W samples of context either side, so each call
holds back the last W samples for the next one and keeps W samples it already emitted as the next one's past.
"""

from typing import Final

import numpy as np
import numpy.typing as npt

Parts = npt.NDArray[np.float64]  # (stems, samples, 2)
WINDOW: Final = 1024  # 23 ms at 44.1 kHz


def _running_min(values: npt.NDArray[np.float64], half: int) -> npt.NDArray[np.float64]:
    """min(values[i - half : i + half + 1]) for every i (van Herk / Gil-Werman: O(n) whatever the window)."""
    size = 2 * half + 1
    tail = half + (-(len(values) + 2 * half) % size)
    padded = np.concatenate([np.ones(half), values, np.ones(tail)]).reshape(-1, size)
    prefix = np.minimum.accumulate(padded, axis=1).ravel()
    suffix = np.minimum.accumulate(padded[:, ::-1], axis=1)[:, ::-1].ravel()
    return np.minimum(suffix[: len(values)], prefix[size - 1 : size - 1 + len(values)])


def _moving_mean(values: npt.NDArray[np.float64], half: int) -> npt.NDArray[np.float64]:
    padded = np.pad(values, half + 1, mode="edge")
    sums = np.cumsum(padded)
    return np.asarray((sums[2 * half + 1 :] - sums[: -2 * half - 1])[: len(values)] / (2 * half + 1))


def gain_curve(master: npt.NDArray[np.float64], ceiling: float) -> npt.NDArray[np.float64]:
    peaks = np.abs(master).max(axis=1)
    needed = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    smooth = _moving_mean(_running_min(needed, WINDOW // 2), WINDOW // 2)
    return np.asarray(np.minimum(smooth, needed))  # the running sums' rounding (1e-12) must not let a peak through


class Limiter:
    def __init__(self, ceiling: float, stems: int) -> None:
        self.ceiling = ceiling
        self._past: Parts = np.zeros((stems, 0, 2))
        self._held: Parts = np.zeros((stems, 0, 2))

    def process(self, parts: Parts, *, final: bool) -> Parts:
        """The parts that are ready, limited: all but the last WINDOW samples given so far (all when final)."""
        buffer = np.concatenate([self._past, self._held, parts], axis=1)
        gain = gain_curve(buffer.sum(axis=0), self.ceiling)
        first = self._past.shape[1]
        last = buffer.shape[1] if final else max(first, buffer.shape[1] - WINDOW)
        self._held = buffer[:, last:]
        self._past = buffer[:, max(0, last - WINDOW) : last]
        return np.asarray(buffer[:, first:last] * gain[None, first:last, None])
