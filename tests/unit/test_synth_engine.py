"""The built-in synthesizer end to end: the encoded files meet the quality bar (duration from the frames, 44.1 kHz
stereo, >= 128 kbit/s, -14 LUFS, no clipping, never silence), the stems sum to the master, the same job gives the
same bytes, different words give measurably different music, focus is steadier than creation, and the worker's
progress and cancel hooks are honoured."""

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from music_api.worker.engine import (
    GeneratedTrack,
    GenerationCancelled,
    GenerationRequest,
    PermanentEngineError,
)
from music_api.worker.synth import mp3
from music_api.worker.synth.engine import CEILING, TARGET_LUFS, SynthEngine, mastered, measure
from music_api.worker.synth.loudness import LoudnessMeter, integrated_loudness
from music_api.worker.synth.plan import ENERGY_WORDS, PALETTE_WORDS, SAMPLE_RATE, SCALE_WORDS, Plan, make_plan
from music_api.worker.synth.render import DRUMS, STEMS, Renderer

REQUEST = GenerationRequest(
    job_id="job-synth",
    engine="studio",
    prompt="calm lofi piano for a rainy night",
    duration_seconds=6,
    instrumental=False,
    mode="creation",
    settings={"stems": True},
)


@dataclass
class Recorder:
    """The worker's side of the progress protocol: it records, and asks to cancel after ``cancel_after`` checks."""

    cancel_after: int | None = None
    reports: list[float] = field(default_factory=list)
    checks: int = 0

    def report(self, fraction: float) -> None:
        self.reports.append(fraction)

    def cancel_requested(self) -> bool:
        self.checks += 1
        return self.cancel_after is not None and self.checks > self.cancel_after


@pytest.fixture(scope="module")
def track() -> GeneratedTrack:
    return SynthEngine().generate(REQUEST, Recorder())


def pcm(plan: Plan) -> npt.NDArray[np.float64]:
    """The four stems exactly as they are encoded: (stems, samples, 2)."""
    loudness, _ = measure(plan)
    gain = 10 ** ((TARGET_LUFS - loudness) / 20)
    return np.concatenate([parts for _, parts in mastered(plan, gain)], axis=1)


def test_the_master_and_every_stem_meet_the_quality_bar(track: GeneratedTrack) -> None:
    assert sorted(track.stems) == sorted(STEMS)
    for audio in [track.master, *track.stems.values()]:
        facts = mp3.facts(audio.data)
        assert audio.duration_seconds == pytest.approx(facts.duration_seconds, abs=0.0005)
        assert audio.duration_seconds == pytest.approx(REQUEST.duration_seconds, abs=0.1)
        assert (facts.sample_rate_hz, facts.channels) == (audio.sample_rate_hz, 2) == (44_100, 2)
        assert facts.bitrate_kbps == audio.bitrate_kbps >= 128
        assert (audio.mime_type, audio.extension) == ("audio/mpeg", "mp3")
    assert track.master.loudness_lufs == pytest.approx(TARGET_LUFS, abs=1.0)


def test_the_pcm_is_at_minus_14_lufs_never_clips_and_is_never_silent() -> None:
    plan = make_plan(REQUEST, None)
    master = pcm(plan).sum(axis=0)

    assert len(master) == plan.samples
    assert integrated_loudness(master, SAMPLE_RATE) == pytest.approx(TARGET_LUFS, abs=1.0)
    assert np.abs(master).max() <= CEILING  # -1 dBFS: 29204 of 32767 at most
    seconds = master[: len(master) // SAMPLE_RATE * SAMPLE_RATE].reshape(-1, SAMPLE_RATE, 2)
    rms_dbfs = 10 * np.log10(np.mean(np.square(seconds), axis=(1, 2)))
    assert rms_dbfs.min() > -45  # every second sounds, the fade-in's first one included


def test_the_stems_sum_to_the_master_before_encoding() -> None:
    parts = pcm(make_plan(REQUEST, None))
    master = parts.sum(axis=0)
    np.testing.assert_allclose(sum(parts[i] for i in range(len(STEMS))), master, atol=1e-12)
    as_pcm = np.rint(parts * 32767)  # and after rounding to 16 bits: one step per stem at most
    assert np.abs(as_pcm.sum(axis=0) - np.rint(master * 32767)).max() <= len(STEMS)
    assert all(np.abs(part).max() > 0.01 for part in parts)  # four real stems, none empty


def test_the_same_job_gives_the_same_bytes_and_another_job_other_bytes(track: GeneratedTrack) -> None:
    again = SynthEngine().generate(REQUEST, Recorder())
    assert again.master.data == track.master.data
    assert {name: audio.data for name, audio in again.stems.items()} == {
        name: audio.data for name, audio in track.stems.items()
    }
    other = SynthEngine().generate(replace(REQUEST, job_id="job-other", settings={}), Recorder())
    assert other.master.data != track.master.data
    assert other.stems == {}  # stems only when the settings ask for them


def tempo_of(drums: npt.NDArray[np.float64]) -> float:
    """BPM from the drum stem: the onset envelope's autocorrelation peak between 60 and 180 BPM (10 ms frames)."""
    hop = SAMPLE_RATE // 100
    frames = np.square(drums.sum(axis=1))[: len(drums) // hop * hop].reshape(-1, hop).sum(axis=1)
    onsets = np.maximum(0.0, np.diff(np.log10(frames + 1e-9)))
    onsets -= onsets.mean()
    correlation = np.correlate(onsets, onsets, mode="full")[len(onsets) - 1 :]
    lags = np.arange(len(correlation))
    window = (lags >= 100 * 60 / 180) & (lags <= 100 * 60 / 60)
    lag = lags[window][np.argmax(correlation[window])]
    return float(60 * 100 / lag)


def drum_stem(plan: Plan) -> npt.NDArray[np.float64]:
    return np.concatenate([parts[DRUMS] for _, parts in Renderer(plan).chunks()])


def test_different_prompts_give_a_different_tempo_measured_in_the_audio() -> None:
    calm = make_plan(replace(REQUEST, prompt="calm slow lofi with drums", duration_seconds=20), None)
    dance = make_plan(replace(REQUEST, prompt="energetic dance club track", duration_seconds=20), None)
    assert dance.tempo_bpm - calm.tempo_bpm > 30 or calm.key != dance.key

    measured = [tempo_of(drum_stem(plan)) for plan in (calm, dance)]
    for plan, bpm in zip((calm, dance), measured, strict=True):  # the beat, or its double or half
        assert any(abs(bpm - plan.tempo_bpm * ratio) / (plan.tempo_bpm * ratio) < 0.04 for ratio in (0.5, 1, 2))
    octaves = np.log2(measured[1] / measured[0])
    assert abs(octaves - round(octaves)) > 0.1  # not the same beat counted at another octave


def test_focus_is_steadier_than_creation() -> None:
    """Short-term loudness (3 s windows) away from the fades: creation's sections rise and fall, focus does not."""
    spreads = {}
    for mode in ("creation", "focus"):
        plan = make_plan(replace(REQUEST, prompt="acoustic guitar", duration_seconds=60, mode=mode), None)
        meter = LoudnessMeter(SAMPLE_RATE)
        for _, parts in Renderer(plan).chunks():
            meter.add(parts.sum(axis=0))
        short_term = meter.short_term()[40:-70]  # past the 4 s fades (3 s windows, 100 ms apart)
        spreads[mode] = float(short_term.max() - short_term.min())
    assert spreads["focus"] < spreads["creation"]
    assert spreads["focus"] < 3.0


def test_progress_rises_to_one_and_a_cancel_stops_at_the_next_checkpoint() -> None:
    recorder = Recorder()
    SynthEngine().generate(replace(REQUEST, duration_seconds=20, settings={}), recorder)
    assert recorder.reports[0] == 0.0
    assert recorder.reports[-1] == 1.0
    assert recorder.reports == sorted(recorder.reports)
    assert len(recorder.reports) > 3
    assert recorder.checks == len(recorder.reports)  # a cancel check at every report

    cancelling = Recorder(cancel_after=2)
    with pytest.raises(GenerationCancelled):
        SynthEngine().generate(REQUEST, cancelling)
    assert cancelling.checks == 3
    assert len(cancelling.reports) == 2


@pytest.mark.parametrize(
    ("engine_settings", "named"),
    [
        ({"stems": "yes"}, "stems"),
        ({"palette": "polka"}, "palette"),
        ({"bitrate_kbps": 96}, "bitrate_kbps"),
        ({"max_duration_seconds": 0}, "max_duration_seconds"),
        ({"voice": "alto"}, "voice"),
    ],
)
def test_invalid_settings_fail_permanently_with_a_message_safe_to_show(
    engine_settings: dict[str, Any], named: str
) -> None:
    with pytest.raises(PermanentEngineError) as raised:
        SynthEngine().generate(replace(REQUEST, settings=engine_settings), Recorder())
    assert raised.value.user_message == (
        f"The engine is misconfigured (settings: {named}); please contact the operator."
    )


def test_settings_from_dynamodb_and_the_engines_longest_track() -> None:
    track = SynthEngine().generate(
        replace(
            REQUEST, duration_seconds=2, settings={"max_duration_seconds": Decimal(2), "bitrate_kbps": Decimal(128)}
        ),
        Recorder(),
    )
    assert track.master.bitrate_kbps == 128
    with pytest.raises(PermanentEngineError, match="1 to 2 seconds"):
        SynthEngine().generate(replace(REQUEST, duration_seconds=3, settings={"max_duration_seconds": 2}), Recorder())


WORDS = sorted({*PALETTE_WORDS, *ENERGY_WORDS, *SCALE_WORDS, "in c major", "at 150 bpm", "without drums"})


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    words=st.lists(st.sampled_from(WORDS), max_size=4),
    noise=st.text(max_size=20),
    tags=st.lists(st.sampled_from(WORDS), max_size=2),
    seconds=st.integers(min_value=1, max_value=4),
    mode=st.sampled_from(["creation", "focus"]),
    instrumental=st.booleans(),
    stems=st.booleans(),
)
def test_any_valid_request_gives_valid_audio(  # noqa: PLR0917 - hypothesis passes each strategy
    words: list[str], noise: str, tags: list[str], seconds: int, mode: str, instrumental: bool, stems: bool
) -> None:
    request = GenerationRequest(
        job_id="job-any",
        engine="studio",
        prompt=" ".join([*words, noise]) or "x",
        duration_seconds=seconds,
        instrumental=instrumental,
        mode=mode,
        style_tags=tuple(tags),
        settings={"stems": stems},
    )
    track = SynthEngine().generate(request, Recorder())
    for audio in [track.master, *track.stems.values()]:
        assert audio.duration_seconds == pytest.approx(seconds, abs=0.1)
        assert (audio.sample_rate_hz, audio.bitrate_kbps) == (44_100, 160)
    assert track.master.loudness_lufs == pytest.approx(TARGET_LUFS, abs=1.0)
    assert set(track.stems) <= set(STEMS)
    assert bool(track.stems) == stems
