"""The MP3 reader the tests judge uploaded audio with: the demo MP3 read whole, and anything but whole Layer III
frames refused."""

import pytest

from music_local import mp3
from music_local.simulator import DEMO_AUDIO

DEMO = DEMO_AUDIO.read_bytes()
DEMO_FRAMES = list(mp3.frames(DEMO))


def test_the_demo_mp3_is_whole_frames_of_its_stated_length() -> None:
    assert DEMO[:2] == b"\xff\xf3"  # MPEG-2 Layer III, no CRC
    assert {(frame.sample_rate, frame.samples) for frame in DEMO_FRAMES} == {(16000, 576)}
    assert mp3.duration_seconds(DEMO) == pytest.approx(119.4, abs=0.1)


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
