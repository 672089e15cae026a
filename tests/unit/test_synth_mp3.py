"""What the engine reports of an MP3 comes from walking its frame headers, and anything but whole MPEG-1 Layer III
frames of one sample rate is refused."""

import lameenc
import pytest

from music_api.worker.synth import mp3
from music_local.simulator import DEMO_AUDIO


def encoded(samples: int, bitrate: int = 192, channels: int = 2) -> bytes:
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(bitrate)
    encoder.set_in_sample_rate(44_100)
    encoder.set_channels(channels)
    return bytes(encoder.encode(bytes(samples * 2 * channels)) + encoder.flush())


def test_the_frames_say_the_length_rate_bitrate_and_channels() -> None:
    facts = mp3.facts(encoded(44_100))
    assert (facts.sample_rate_hz, facts.bitrate_kbps, facts.channels) == (44_100, 192, 2)
    assert facts.duration_seconds == facts.frames * 1152 / 44_100
    assert mp3.facts(encoded(44_100, 128, 1)).channels == 1


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "cut short"),
        (b"ID3\x04" + encoded(10_000), "no MPEG-1 Layer III frame at byte 0"),
        (encoded(10_000)[:-5], "cut short"),
        (DEMO_AUDIO.read_bytes(), "no MPEG-1 Layer III frame at byte 0"),  # MPEG-2, 16 kHz
        (b"\xff\xfb\xf0\x00" + bytes(600), "a bad frame header at byte 0"),  # bitrate index 15
    ],
)
def test_anything_else_is_refused(data: bytes, problem: str) -> None:
    with pytest.raises(mp3.NotOurMp3Error, match=problem):
        mp3.facts(data)
