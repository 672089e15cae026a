"""Synthesize the demo track "Late Night Study" (119.4 s, lo-fi) and encode it as MP3 with LAME (lameenc).

Usage: python scripts/make_demo_audio.py [OUTPUT]   (default: local/audio/late-night-study.mp3)

Deterministic: the same script gives the same bytes. 16 kHz mono at 16 kbit/s keeps the file under 300 KB.
"""

import math
import random
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path

import lameenc

RATE = 16_000
DURATION_SECONDS = 119.4
BEAT_SECONDS = 60 / 75  # 75 BPM
BAR_SECONDS = 4 * BEAT_SECONDS
# Am7 - Dm7 - G7 - Cmaj7, as MIDI notes.
PROGRESSION = [(57, 60, 64, 67), (50, 57, 60, 65), (55, 59, 62, 65), (48, 55, 59, 64)]
MELODY_STEPS = [0, 2, 1, 3, 2, 0, 3, 1]  # indexes into the chord, one per half beat
OUTPUT = Path(__file__).resolve().parents[1] / "local" / "audio" / "late-night-study.mp3"


def frequency(note: int) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


@dataclass(frozen=True)
class Tone:
    start: float
    length: float
    hz: float
    level: float
    attack: float


def add_tone(buffer: list[float], tone: Tone) -> None:
    first = int(tone.start * RATE)
    count = min(int(tone.length * RATE), len(buffer) - first)
    step = 2 * math.pi * tone.hz / RATE
    for i in range(count):
        t = i / RATE
        envelope = min(1.0, t / tone.attack) * math.exp(-2.5 * t / tone.length)
        buffer[first + i] += tone.level * envelope * (math.sin(step * i) + 0.25 * math.sin(2 * step * i))


def add_kick(buffer: list[float], start: float) -> None:
    first = int(start * RATE)
    phase = 0.0
    for i in range(min(int(0.25 * RATE), len(buffer) - first)):
        t = i / RATE
        phase += 2 * math.pi * (45 + 80 * math.exp(-30 * t)) / RATE
        buffer[first + i] += 0.5 * math.exp(-12 * t) * math.sin(phase)


def add_hat(buffer: list[float], start: float, noise: random.Random) -> None:
    first = int(start * RATE)
    for i in range(min(int(0.05 * RATE), len(buffer) - first)):
        buffer[first + i] += 0.06 * math.exp(-90 * i / RATE) * noise.uniform(-1, 1)


def render() -> "array[int]":
    buffer = [0.0] * int(DURATION_SECONDS * RATE)
    noise = random.Random(7)  # noqa: S311 - hi-hat noise, seeded so the file is reproducible # nosec B311
    bar = 0
    while bar * BAR_SECONDS < DURATION_SECONDS:
        start = bar * BAR_SECONDS
        chord = PROGRESSION[bar % len(PROGRESSION)]
        for note in chord:
            add_tone(buffer, Tone(start, BAR_SECONDS, frequency(note), level=0.07, attack=0.4))
        for beat in range(4):
            beat_start = start + beat * BEAT_SECONDS
            if beat in (0, 2):
                add_kick(buffer, beat_start)
            add_hat(buffer, beat_start + BEAT_SECONDS / 2, noise)
        if bar % 8 >= 2:  # the melody enters after two bars and rests every eighth
            for half_beat, index in enumerate(MELODY_STEPS):
                if (bar + half_beat) % 3 != 2:
                    note = chord[index] + 12
                    add_tone(
                        buffer, Tone(start + half_beat * BEAT_SECONDS / 2, BEAT_SECONDS, frequency(note), 0.09, 0.01)
                    )
        bar += 1
    peak = max(abs(sample) for sample in buffer)
    fade = int(2 * RATE)
    samples = array("h")
    for i, sample in enumerate(buffer):
        gain = min(1.0, i / fade, (len(buffer) - i) / fade)
        samples.append(int(32000 * gain * sample / peak))
    return samples


def encode(samples: "array[int]") -> bytes:
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(16)
    encoder.set_in_sample_rate(RATE)
    encoder.set_channels(1)
    encoder.set_quality(2)
    return bytes(encoder.encode(samples.tobytes()) + encoder.flush())


def main(argv: list[str]) -> int:
    output = Path(argv[1]) if len(argv) > 1 else OUTPUT
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(encode(render()))
    print(f"{output}: {output.stat().st_size} bytes, {DURATION_SECONDS} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
