"""The loudness meter against the published references: ITU-R BS.1770-4's K-weighting coefficients at 48 kHz and
its calibration statement (a 0 dBFS 1 kHz sine in one channel reads -3.01 LUFS), and the integrated-loudness test
signals of EBU Tech 3341 (cases 1 to 5, expected -23.0 or -33.0 LUFS within 0.1 LU), at 48 and 44.1 kHz."""

import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from music_api.worker.synth.loudness import LoudnessMeter, integrated_loudness, k_weighting

RATES = [48_000, 44_100]


def sine(
    dbfs: float, seconds: float, rate: int, *, channels: tuple[float, float] = (1.0, 1.0)
) -> npt.NDArray[np.float64]:
    """A 1 kHz sine whose peak is ``dbfs`` (a full-scale sine is 0 dBFS), in the channels given weight 1."""
    t = np.arange(round(seconds * rate)) / rate
    wave = 10 ** (dbfs / 20) * np.sin(2 * np.pi * 1000 * t)
    return np.stack([wave * channels[0], wave * channels[1]], axis=1)


def test_the_k_weighting_at_48_khz_is_the_standards_table() -> None:
    (shelf_b, shelf_a), (high_b, high_a) = k_weighting(48_000)
    assert shelf_b == pytest.approx([1.53512485958697, -2.69169618940638, 1.19839281085285], abs=1e-12)
    assert shelf_a == pytest.approx([1.0, -1.69065929318241, 0.73248077421585], abs=1e-12)
    assert high_b == [1.0, -2.0, 1.0]
    assert high_a == pytest.approx([1.0, -1.99004745483398, 0.99007225036621], abs=1e-11)


@pytest.mark.parametrize("rate", RATES)
def test_a_sine_at_minus_20_dbfs_in_one_channel_reads_minus_23_lufs(rate: int) -> None:
    """BS.1770: 0 dBFS in one channel reads -3.01; in both channels the powers add, +3.01 LU."""
    assert integrated_loudness(sine(-20, 10, rate, channels=(1, 0)), rate) == pytest.approx(-23.01, abs=0.05)
    assert integrated_loudness(sine(-20, 10, rate), rate) == pytest.approx(-20.0, abs=0.05)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        ([(-23, 20)], -23.0),  # case 1
        ([(-33, 20)], -33.0),  # case 2
        ([(-36, 10), (-23, 60), (-36, 10)], -23.0),  # case 3: the relative gate
        ([(-72, 10), (-36, 10), (-23, 60), (-36, 10), (-72, 10)], -23.0),  # case 4: both gates
        ([(-26, 20), (-20, 20.1), (-26, 20)], -23.0),  # case 5
    ],
)
def test_ebu_tech_3341_integrated_loudness_cases(rate: int, pieces: list[tuple[float, float]], expected: float) -> None:
    signal = np.concatenate([sine(dbfs, seconds, rate) for dbfs, seconds in pieces])
    assert integrated_loudness(signal, rate) == pytest.approx(expected, abs=0.1)


@settings(max_examples=15, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=300_000), min_size=1, max_size=6))
def test_chunks_of_any_size_measure_what_the_whole_signal_measures(cuts: list[int]) -> None:
    signal = np.random.default_rng(7).standard_normal((400_000, 2)) * 0.05
    meter = LoudnessMeter(44_100)
    for part in np.split(signal, sorted(set(cuts))):
        meter.add(part)
    assert meter.integrated() == pytest.approx(integrated_loudness(signal, 44_100), abs=1e-9)


def test_silence_and_a_signal_shorter_than_one_block_have_no_loudness() -> None:
    assert integrated_loudness(np.zeros((44_100, 2)), 44_100) == -math.inf
    assert integrated_loudness(sine(-10, 0.3, 44_100), 44_100) == -math.inf
