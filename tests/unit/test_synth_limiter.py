"""The limiter: no sample of the master above the ceiling, the stems scaled by the very gain of the master, the
same output however the audio is cut into chunks, and audio under the ceiling left alone."""

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from music_api.worker.synth.limiter import WINDOW, Limiter

CEILING = 10 ** (-1 / 20)


def stems(seed: int, samples: int, level: float) -> npt.NDArray[np.float64]:
    """Four stereo stems of noise with loud bursts: peaks far over the ceiling."""
    rng = np.random.default_rng(seed)
    parts = rng.standard_normal((4, samples, 2)) * level
    parts[:, rng.integers(0, samples, 20)] *= 8
    return parts


def limited(parts: npt.NDArray[np.float64], cuts: list[int]) -> npt.NDArray[np.float64]:
    limiter = Limiter(CEILING, len(parts))
    pieces = np.split(parts, sorted(set(cuts)), axis=1)
    out = [limiter.process(piece, final=index == len(pieces) - 1) for index, piece in enumerate(pieces)]
    return np.concatenate(out, axis=1)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    cuts=st.lists(st.integers(min_value=WINDOW, max_value=39_000), max_size=5),
    level=st.floats(0.05, 0.5),
)
def test_no_master_sample_passes_the_ceiling_and_the_stems_share_its_gain(
    seed: int, cuts: list[int], level: float
) -> None:
    parts = stems(seed, 40_000, level)
    out = limited(parts, cuts)

    assert out.shape == parts.shape
    assert np.abs(out.sum(axis=0)).max() <= CEILING + 1e-12
    gain = out / np.where(parts == 0, 1, parts)
    assert np.allclose(gain, gain[:1, :, :1], atol=1e-9)  # one gain per sample for every stem and channel
    assert np.all(gain <= 1 + 1e-12)


def test_chunking_does_not_change_the_result() -> None:
    parts = stems(3, 30_000, 0.3)
    np.testing.assert_allclose(limited(parts, [5_000, 12_000, 20_000]), limited(parts, []), atol=1e-12)


def test_audio_under_the_ceiling_is_left_alone() -> None:
    parts = stems(5, 20_000, 0.01)
    parts /= np.abs(parts.sum(axis=0)).max() / 0.8
    np.testing.assert_array_equal(limited(parts, [7_000]), parts)


def test_the_gain_moves_smoothly_instead_of_jumping() -> None:
    parts = np.full((4, 10_000, 2), 0.1)
    parts[:, 5_000] = 1.0  # one spike: the master at 4.0 among 0.4
    gain = limited(parts, [])[0, :, 0] / parts[0, :, 0]
    assert gain[5_000] * 4.0 <= CEILING
    assert np.all(gain[: 5_000 - WINDOW] == 1)
    assert np.all(gain[5_000 + WINDOW + 1 :] == 1)
    assert np.abs(np.diff(gain)).max() <= 1.01 / (WINDOW + 1)  # down over W samples, back up over W
