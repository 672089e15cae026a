"""From the words to the plan: the words table, explicit tempo and key, the arrangement of creation and focus,
the seed, and the PCM length that LAME turns into the requested duration."""

import itertools
from dataclasses import replace

import lameenc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from music_api.worker.engine import GenerationRequest
from music_api.worker.synth import mp3
from music_api.worker.synth.plan import PALETTE_TRAITS, SAMPLE_RATE, explicit_key, frames_for, make_plan, seed_of

REQUEST = GenerationRequest(
    job_id="job-1", engine="studio", prompt="music", duration_seconds=120, instrumental=False, mode="creation"
)


def test_palette_words_choose_the_palette_and_the_style_tags_come_first() -> None:
    assert make_plan(replace(REQUEST, prompt="a lofi beat to study to"), None).palette == "lofi"
    assert make_plan(replace(REQUEST, prompt="an epic orchestral score"), None).palette == "cinematic"
    tagged = replace(REQUEST, prompt="lofi piano", style_tags=("techno",))
    assert make_plan(tagged, None).palette == "electronic"
    assert make_plan(tagged, "ambient").palette == "ambient"  # the engine's own palette wins over the words


def test_energy_words_set_the_tempo_within_the_palettes_range() -> None:
    calm = make_plan(replace(REQUEST, prompt="calm relaxing slow house"), None)
    driving = make_plan(replace(REQUEST, prompt="energetic driving house workout"), None)
    slowest, fastest, _, _ = PALETTE_TRAITS["electronic"]
    assert slowest - 3 <= calm.tempo_bpm < driving.tempo_bpm <= fastest + 3
    assert (calm.energy, driving.energy) == (-2, 2)


def test_mood_words_choose_the_scale_and_an_explicit_key_or_tempo_wins() -> None:
    assert make_plan(replace(REQUEST, prompt="happy sunny acoustic"), None).scale == "major"
    assert make_plan(replace(REQUEST, prompt="sad rainy acoustic"), None).scale == "minor"
    explicit = make_plan(replace(REQUEST, prompt="happy song in F# minor at 97 bpm"), None)
    assert (explicit.key, explicit.scale, explicit.tempo_bpm) == ("F# minor", "minor", 97.0)
    assert make_plan(replace(REQUEST, prompt="ballad in the key of Bb"), None).key.startswith("A# ")
    assert make_plan(replace(REQUEST, prompt="sad, in the key of c#"), None).key == "C# minor"
    assert explicit_key("a walk in a park") is None  # English, not a key: the seed chooses
    assert explicit_key("f sharp major") == (6, "major")


def test_drum_words_and_the_instrumental_flag() -> None:
    assert not make_plan(replace(REQUEST, prompt="lofi without drums"), None).drums
    assert make_plan(replace(REQUEST, prompt="ambient with a beat"), None).drums
    assert make_plan(replace(REQUEST, instrumental=True), None).lead == "instrument"
    assert make_plan(REQUEST, None).lead == "topline"


def test_a_creation_is_arranged_over_time() -> None:
    plan = make_plan(replace(REQUEST, prompt="acoustic folk", duration_seconds=240), None)
    kinds = [section.kind for section in plan.sections]
    assert kinds[0] == "intro"
    assert kinds[-1] == "outro"
    assert {"verse", "chorus", "breakdown"} <= set(kinds)
    assert len({section.progression for section in plan.sections}) >= 2
    returns = [section.variation for section in plan.sections if section.kind == "chorus"]
    assert returns == list(range(len(returns)))
    assert len(returns) >= 2
    bars = [(section.first_bar, section.bars) for section in plan.sections]
    assert all(first + length == following for (first, length), (following, _) in itertools.pairwise(bars))


def test_focus_is_steady_segments_at_the_calm_end() -> None:
    focus = make_plan(replace(REQUEST, prompt="energetic house", mode="focus", duration_seconds=300), None)
    creation = make_plan(replace(REQUEST, prompt="energetic house", duration_seconds=300), None)
    assert {section.kind for section in focus.sections} == {"flow"}
    assert len({section.progression for section in focus.sections}) == 1
    assert focus.energy < creation.energy
    assert focus.tempo_bpm < creation.tempo_bpm


def test_the_seed_is_the_job_and_its_request() -> None:
    assert seed_of(REQUEST) == seed_of(replace(REQUEST))
    others = [
        replace(REQUEST, job_id="job-2"),
        replace(REQUEST, prompt="music!"),
        replace(REQUEST, settings={"stems": True}),
        replace(REQUEST, style_tags=("lofi",)),
    ]
    assert len({seed_of(REQUEST), *map(seed_of, others)}) == 5


@settings(max_examples=12, deadline=None)
@given(seconds=st.integers(min_value=1, max_value=40))
def test_lame_turns_the_planned_samples_into_the_planned_frames(seconds: int) -> None:
    samples, frames = frames_for(seconds)
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(128)
    encoder.set_in_sample_rate(SAMPLE_RATE)
    encoder.set_channels(2)
    encoded = bytes(encoder.encode(bytes(samples * 4)) + encoder.flush())

    assert mp3.facts(encoded).frames == frames
    assert frames * mp3.FRAME_SAMPLES / SAMPLE_RATE == pytest.approx(seconds, abs=0.0131)  # half a frame
