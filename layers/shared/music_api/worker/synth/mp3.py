"""MP3 out (LAME through lameenc, constant bitrate, joint stereo) and what the encoded bytes themselves say.

lameenc writes no Xing/LAME tag, so no decoder knows of LAME's encoder delay or end padding: every decoder plays
every frame. The duration of the file is therefore frames x 1152 / sample rate, counted by walking the frame
headers; the 1105 samples of encoder and decoder delay (25 ms) open it, and the renderer sizes its PCM so that
the frames LAME writes come closest to the requested duration (plan.frames_for).
"""

from dataclasses import dataclass
from typing import Final

import lameenc
import numpy as np
import numpy.typing as npt

# MPEG-1 Layer III only: what LAME writes at 44.1 kHz.
_BITRATES: Final = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0)
_SAMPLE_RATES: Final = (44100, 48000, 32000, 0)
FRAME_SAMPLES: Final = 1152
QUALITY: Final = 3  # LAME's -q 3 (its command line's default): no slower than -q 5 on this music, measured
MIME_TYPE: Final = "audio/mpeg"
EXTENSION: Final = "mp3"


class Encoder:
    """Stereo PCM in float (-1..1) chunks, CBR MP3 out."""

    def __init__(self, sample_rate: int, bitrate_kbps: int) -> None:
        self._lame = lameenc.Encoder()
        self._lame.set_bit_rate(bitrate_kbps)
        self._lame.set_in_sample_rate(sample_rate)
        self._lame.set_channels(2)
        self._lame.set_quality(QUALITY)
        self._out = bytearray()

    def encode(self, chunk: npt.NDArray[np.floating]) -> None:
        pcm = np.rint(chunk * 32767).astype("<i2")  # the limiter keeps |x| < 1: nothing wraps
        self._out += self._lame.encode(pcm.tobytes())

    def finish(self) -> bytes:
        self._out += self._lame.flush()
        data = bytes(self._out)
        self._out = bytearray()  # one copy of an hour's file (72 MB at 160 kbit/s) at a time, not two
        return data


@dataclass(frozen=True)
class Facts:
    frames: int
    sample_rate_hz: int
    bitrate_kbps: int  # the mean over the frames
    channels: int

    @property
    def duration_seconds(self) -> float:
        return self.frames * FRAME_SAMPLES / self.sample_rate_hz


class NotOurMp3Error(ValueError):
    """The bytes are not back-to-back MPEG-1 Layer III frames of one sample rate."""


def facts(data: bytes) -> Facts:
    """Walk every frame header from the first byte to the last."""
    offset = frames = bits = 0
    rates: set[int] = set()
    channels: set[int] = set()
    while offset < len(data):
        header = data[offset : offset + 4]
        if len(header) < 4 or header[0] != 0xFF or header[1] & 0xFE != 0xFA:
            raise NotOurMp3Error(f"no MPEG-1 Layer III frame at byte {offset}")
        bitrate, rate = _BITRATES[header[2] >> 4], _SAMPLE_RATES[(header[2] >> 2) & 3]
        if not bitrate or not rate:
            raise NotOurMp3Error(f"a bad frame header at byte {offset}")
        rates.add(rate)
        channels.add(1 if header[3] >> 6 == 3 else 2)
        offset += 144_000 * bitrate // rate + ((header[2] >> 1) & 1)
        frames += 1
        bits += bitrate
    if offset != len(data) or len(rates) != 1 or len(channels) != 1:
        raise NotOurMp3Error("cut short, or frames of different sample rates or channels")
    return Facts(frames, rates.pop(), round(bits / frames), channels.pop())
