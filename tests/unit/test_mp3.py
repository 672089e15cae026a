"""MP3 of a chosen length from whole frames of the demo MP3: every result is whole Layer III frames, taken from the
source in order from its first, and lasts the request to within one frame."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from music_local import mp3
from music_local.simulator import DEMO_AUDIO, MAX_CREATED_AUDIO_SECONDS

DEMO = DEMO_AUDIO.read_bytes()
DEMO_FRAMES = list(mp3.frames(DEMO))
FRAME_SECONDS = DEMO_FRAMES[0].seconds


def test_the_demo_mp3_is_whole_frames_of_its_stated_length() -> None:
    assert DEMO[:2] == b"\xff\xf3"  # MPEG-2 Layer III, no CRC
    assert {(frame.sample_rate, frame.samples) for frame in DEMO_FRAMES} == {(16000, 576)}
    assert mp3.duration_seconds(DEMO) == pytest.approx(119.4, abs=0.1)


@settings(max_examples=60, deadline=None)
@given(seconds=st.floats(min_value=0.01, max_value=MAX_CREATED_AUDIO_SECONDS))
@example(seconds=1.8)  # a float running total of the frames stopped a frame short of it
def test_any_length_is_whole_frames_of_the_source_lasting_the_request_within_a_frame(seconds: float) -> None:
    made = mp3.of_duration(DEMO, seconds)

    frames = list(mp3.frames(made))
    played = sum(frame.seconds for frame in frames)
    assert seconds <= played < seconds + FRAME_SECONDS
    for index, frame in enumerate(frames):  # the source's frames in order, looping back to its first
        source = DEMO_FRAMES[index % len(DEMO_FRAMES)]
        assert made[frame.offset : frame.offset + frame.length] == DEMO[source.offset : source.offset + source.length]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "no bytes"),
        (b"ID3\x04\x00" + DEMO[:200], "no frame sync at byte 0"),
        (DEMO[:100], "cut short"),
        (DEMO[:72] + b"\x00" * 72, "no frame sync at byte 72"),
        (b"\xff\xfb\xf0\x00" + b"\x00" * 200, "not a Layer III frame header"),  # bitrate index 15: bad
    ],
)
def test_anything_but_whole_frames_is_refused(data: bytes, problem: str) -> None:
    with pytest.raises(mp3.NotMp3Error, match=problem):
        mp3.duration_seconds(data)


def test_a_length_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        mp3.of_duration(DEMO, 0)
