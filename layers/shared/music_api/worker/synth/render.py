"""The plan played: notes of additive instruments and synthesized drums, mixed into four stems, chunk by chunk.

Every note is a numpy array computed once per (instrument, pitch, length) and then only added in, so a track of
an hour costs its mixing, not its synthesis. A note that outlasts its chunk spills into the next one, so chunk
boundaries (and the seams between focus segments) are inaudible. Every random choice is a function of the seed
and the bar, never of call order: rendering the same plan twice gives the same samples (the engine renders twice:
once to measure the loudness, once to encode).
"""

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt

from music_api.worker.synth.plan import (
    BEATS_PER_BAR,
    FADE_SECONDS,
    PROGRESSIONS,
    SAMPLE_RATE,
    SCALE_STEPS,
    SECTION_LEVELS,
    Palette,
    Plan,
    Section,
)

Mono = npt.NDArray[np.float64]
Stereo = npt.NDArray[np.float64]
STEMS: Final = ("drums", "bass", "harmony", "melody")
DRUMS, BASS, HARMONY, MELODY = range(4)
CHUNK_BARS: Final = 2  # 2 bars: at most ~10 s of four stereo stems in memory at a time
SOUNDS_KEPT: Final = 64  # notes computed once and reused (a pad of 5 s is 0.9 MB)
_NYQUIST_SAFE_HZ: Final = 18_000.0

# palette: (drum kit, bass, harmony instrument, lead instrument)
PALETTE_PARTS: Final[dict[Palette, tuple[str, str, str, str]]] = {
    "lofi": ("lofi", "sub", "epiano", "bell"),
    "ambient": ("soft", "sub", "pad", "bell"),
    "electronic": ("club", "synth_bass", "pad", "saw_lead"),
    "acoustic": ("acoustic", "upright", "pluck", "piano"),
    "cinematic": ("cinematic", "sub", "strings", "piano"),
}
# stem: its level in the mix before the track is normalised.
STEM_GAINS: Final = (1.1, 0.3, 0.3, 0.25)


def hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def _time(samples: int) -> Mono:
    return np.arange(samples) / SAMPLE_RATE


def _envelope(samples: int, attack: float, release: float) -> Mono:
    """Linear attack from 0, linear release to 0 over the last ``release`` seconds."""
    envelope = np.ones(samples)
    rise = min(samples, max(1, int(attack * SAMPLE_RATE)))
    envelope[:rise] = np.linspace(0, 1, rise, endpoint=False)
    fall = min(samples - rise, max(1, int(release * SAMPLE_RATE)))
    envelope[samples - fall :] *= np.linspace(1, 0, fall)
    return envelope


def _partials(  # noqa: PLR0913, PLR0917 - a spectrum is these five things
    frequency: float,
    samples: int,
    ratios: tuple[float, ...],
    amplitudes: tuple[float, ...],
    decays: tuple[float, ...],
    vibrato: float = 0.0,
) -> Mono:
    """A sum of decaying sines at ``ratios`` times ``frequency`` (vibrato: depth as a frequency ratio, 5.5 Hz,
    fading in over the first 0.3 s)."""
    t = _time(samples)
    phase = 2 * np.pi * frequency * t
    if vibrato:
        depth = vibrato * np.minimum(1.0, t / 0.3)
        phase = phase + depth * frequency / 5.5 * np.sin(2 * np.pi * 5.5 * t)
    wave = np.zeros(samples)
    for ratio, amplitude, decay in zip(ratios, amplitudes, decays, strict=True):
        if frequency * ratio < _NYQUIST_SAFE_HZ:
            wave += amplitude * np.sin(ratio * phase) * np.exp(-decay * t)
    return wave


def _detuned(frequency: float, samples: int, harmonics: int, vibrato: float = 0.0) -> Mono:
    """Three voices a few cents apart, saw-like spectrum: the chorus of a pad or a string section."""
    ratios = tuple(float(k) for k in range(1, harmonics + 1))
    amplitudes = tuple(1 / k for k in range(1, harmonics + 1))
    decays = tuple(0.05 * k for k in range(1, harmonics + 1))
    return (
        sum(
            (
                _partials(frequency * 2 ** (cents / 1200), samples, ratios, amplitudes, decays, vibrato)
                for cents in (-7, 0, 7)
            ),
            np.zeros(samples),
        )
        / 3
    )


def _tone(instrument: str, midi: int, seconds: float) -> Mono:
    """One pitched note of ``instrument``, ``seconds`` long plus its release."""
    f = hz(midi)
    if instrument in ("pad", "strings"):
        samples = int((seconds + 0.8) * SAMPLE_RATE)
        wave = _detuned(f, samples, 6, vibrato=0.004 if instrument == "strings" else 0.0)
        attack = min(seconds * 0.4, 0.9 if instrument == "strings" else 0.5)
        return wave * _envelope(samples, attack, 0.8)
    if instrument == "saw_lead":
        samples = int((seconds + 0.1) * SAMPLE_RATE)
        wave = _partials(f, samples, tuple(range(1, 11)), tuple(1 / k for k in range(1, 11)), (0.6,) * 10, 0.006)
        return wave * _envelope(samples, 0.01, 0.1)
    if instrument == "topline":  # a legato line in a singer's range: sine-like, vibrato, no words
        samples = int((seconds + 0.15) * SAMPLE_RATE)
        wave = _partials(f, samples, (1, 2, 3), (1, 0.22, 0.07), (0.3, 0.5, 0.8), 0.012)
        return wave * _envelope(samples, 0.06, 0.15)
    # Struck and plucked: (ratios, amplitudes, decays per second), ringing a little beyond the note.
    struck = {
        "piano": (
            (1, 2.001, 3.003, 4.006, 5.01, 6.015),
            (1, 0.45, 0.25, 0.12, 0.07, 0.04),
            (0.9, 1.6, 2.4, 3.4, 4.5, 6),
        ),
        "epiano": ((1, 2, 3, 4), (1, 0.35, 0.12, 0.06), (0.9, 2.2, 4, 6)),
        "pluck": ((1, 2, 3, 4, 5, 6, 7, 8), tuple(1 / k for k in range(1, 9)), tuple(2 + 1.6 * k for k in range(8))),
        "bell": ((1, 2.0, 2.76, 5.4, 8.93), (1, 0.45, 0.35, 0.15, 0.06), (1.2, 1.8, 2.8, 5, 8)),
        "sub": ((1, 2), (1, 0.25), (0.4, 0.8)),
        "synth_bass": ((1, 2, 3, 4, 5), (1, 0.5, 0.33, 0.25, 0.2), (1.5, 3, 5, 7, 9)),
        "upright": ((1, 2, 3, 4), (1, 0.5, 0.25, 0.12), (2, 3.5, 5, 7)),
    }[instrument]
    samples = int((seconds + 0.25) * SAMPLE_RATE)
    wave = _partials(f, samples, *struck)
    return wave * _envelope(samples, 0.004, 0.25)


def _noise(seed: int, samples: int) -> Mono:
    return np.random.default_rng(seed).uniform(-1, 1, samples)


def _drum(name: str, seed: int) -> Mono:
    if name in ("kick", "soft_kick"):
        t = _time(int(0.4 * SAMPLE_RATE))
        phase = 2 * np.pi * (48 * t + 110 / 32 * (1 - np.exp(-32 * t)))  # 158 Hz falling to 48 Hz
        hit = np.sin(phase) * np.exp(-8 * t)
        return hit * (0.6 if name == "soft_kick" else 1.0)
    if name in ("snare", "rim"):
        t = _time(int(0.25 * SAMPLE_RATE))
        crack = np.diff(_noise(seed, len(t) + 1)) * 0.5 * np.exp(-(22 if name == "snare" else 45) * t)
        body = np.sin(2 * np.pi * 190 * t) * np.exp(-30 * t)
        return (crack + 0.6 * body) * (1.0 if name == "snare" else 0.5)
    if name in ("hat", "open_hat", "shaker"):
        seconds, decay = {"hat": (0.08, 70), "open_hat": (0.35, 12), "shaker": (0.12, 35)}[name]
        t = _time(int(seconds * SAMPLE_RATE))
        hiss = np.diff(np.diff(_noise(seed + 1, len(t) + 2))) * 0.25
        return hiss * np.exp(-decay * t) * _envelope(len(t), 0.008 if name == "shaker" else 0.001, 0.01)
    t = _time(int(0.7 * SAMPLE_RATE))  # tom: the cinematic kit's low drum
    return np.sin(2 * np.pi * (85 * t + 40 / 6 * (1 - np.exp(-6 * t)))) * np.exp(-5 * t)


# kit: per bar, (drum, beat, velocity); "fill" bars end in snare sixteenths.
_KITS: Final[dict[str, tuple[tuple[str, float, float], ...]]] = {
    "lofi": (
        ("kick", 0, 1),
        ("kick", 2.5, 0.8),
        ("rim", 1, 0.9),
        ("rim", 3, 0.9),
        *(("hat", b / 2 + (0.08 if b % 2 else 0), 0.5 if b % 2 else 0.7) for b in range(8)),
    ),
    "soft": (("soft_kick", 0, 1), ("shaker", 1.5, 0.6), ("soft_kick", 2, 0.8), ("shaker", 3.5, 0.6)),
    "club": (
        *(("kick", b, 1) for b in range(4)),
        ("snare", 1, 0.9),
        ("snare", 3, 0.9),
        *(("hat", b + 0.5, 0.7) for b in range(4)),
    ),
    "acoustic": (
        ("kick", 0, 0.9),
        ("kick", 2, 0.8),
        ("snare", 1, 0.7),
        ("snare", 3, 0.7),
        *(("shaker", b / 2, 0.6 if b % 2 else 0.4) for b in range(8)),
    ),
    "cinematic": (("tom", 0, 0.6), ("tom", 1.5, 0.4), ("tom", 2, 0.5), ("shaker", 3, 0.8), ("tom", 3.5, 0.4)),
    "focus": (("soft_kick", 0, 0.8), ("soft_kick", 2, 0.6), *(("shaker", b / 2, 0.35) for b in range(8))),
}
_BUSY: Final = tuple(("hat", b / 2 + 0.25, 0.35) for b in range(8))  # sixteenths for energetic tracks


@dataclass(frozen=True)
class Note:
    stem: int
    start: int  # sample, from the start of the track
    sound: tuple[str, int, float]  # (instrument or drum, MIDI note or 0, seconds)
    gain: float
    pan: float  # -1 left .. 1 right


class Renderer:
    """Plays a plan; ``chunks()`` yields (first sample, parts of shape (4 stems, samples, 2)) in order."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.kit, self.bass, self.harmony, self.lead = PALETTE_PARTS[plan.palette]
        if plan.mode == "focus":
            self.kit = "focus" if plan.palette not in ("ambient",) else "soft"
        if plan.lead == "topline":
            self.lead = "topline"
        self.beat = plan.bar_samples / BEATS_PER_BAR
        self._sound = lru_cache(maxsize=SOUNDS_KEPT)(self._make_sound)

    def _make_sound(self, sound: tuple[str, int, float]) -> npt.NDArray[np.float32]:
        name, midi, seconds = sound
        wave = _drum(name, self.plan.seed % (2**32)) if midi == 0 else _tone(name, midi, seconds)
        return wave.astype(np.float32)

    def tone(self, degree: int) -> int:
        """The MIDI note of a scale degree (0 = the tonic in the bass octave; 7 = an octave up)."""
        steps = SCALE_STEPS[self.plan.scale]
        return self.plan.root + 12 * (degree // 7) + steps[degree % 7]

    def chunks(self) -> Iterator[tuple[int, Stereo]]:
        plan = self.plan
        spill = np.zeros((len(STEMS), 0, 2))
        for section in plan.sections:
            for first in range(section.first_bar, section.first_bar + section.bars, CHUNK_BARS):
                last = min(first + CHUNK_BARS, section.first_bar + section.bars)
                start = round(first * plan.bar_samples)
                end = min(plan.samples, round(last * plan.bar_samples))
                if end <= start:
                    continue
                notes = [note for bar in range(first, last) for note in self._bar(section, bar)]
                parts, spill = self._mix(notes, start, end, spill)
                yield start, parts

    def _mix(self, notes: list[Note], start: int, end: int, spill: Stereo) -> tuple[Stereo, Stereo]:
        sounds = [self._sound(note.sound) for note in notes]
        length = max(
            [end - start, spill.shape[1], *(n.start - start + len(s) for n, s in zip(notes, sounds, strict=True))]
        )
        parts = np.zeros((len(STEMS), length, 2))
        parts[:, : spill.shape[1]] += spill
        for note, sound in zip(notes, sounds, strict=True):
            angle = (note.pan + 1) * math.pi / 4
            offset = note.start - start
            gains = np.array([math.cos(angle), math.sin(angle)]) * math.sqrt(2) * note.gain * STEM_GAINS[note.stem]
            parts[note.stem, offset : offset + len(sound)] += sound[:, None] * gains
        envelope = self._fades(start, end)
        if envelope is not None:
            parts[:, : end - start] *= envelope[None, :, None]
        if end == self.plan.samples:
            return parts[:, : end - start], np.zeros((len(STEMS), 0, 2))
        return parts[:, : end - start], parts[:, end - start :].copy()

    def _fades(self, start: int, end: int) -> Mono | None:
        """The track fades in and out (never below the first and last sample): one envelope for every stem."""
        fade = max(1, int(min(FADE_SECONDS, self.plan.samples / SAMPLE_RATE / 4) * SAMPLE_RATE))
        if fade <= start and end <= self.plan.samples - fade:
            return None
        position = np.arange(start, end)
        rise = np.minimum(1.0, (position + 1) / fade)
        fall = np.minimum(1.0, (self.plan.samples - position) / fade)
        return np.asarray(np.sin(np.pi / 2 * np.minimum(rise, fall)) ** 2)

    def _at(self, bar: int, beat: float) -> int:
        return round(bar * self.plan.bar_samples + beat * self.beat)

    def _chord(self, section: Section, bar: int) -> int:
        bars_per_chord = 2 if self.plan.mode == "focus" else 1
        progression = section.progression or PROGRESSIONS[self.plan.scale][0]
        return progression[(bar // bars_per_chord) % len(progression)]

    def _bar(self, section: Section, bar: int) -> Iterator[Note]:
        drums, bass, harmony, melody = SECTION_LEVELS[section.kind]
        chance = random.Random(f"{self.plan.seed}-{bar}")  # noqa: S311 - musical choices # nosec B311
        degree = self._chord(section, bar)
        if self.plan.drums and drums:
            yield from self._drums(section, bar, drums, chance)
        if bass:
            yield from self._bass(bar, degree, bass)
        yield from self._harmony(section, bar, degree, harmony)
        if melody and self.plan.lead != "none" and self._melody_plays(section):
            yield from self._melody(section, bar, degree, melody)

    def _drums(self, section: Section, bar: int, level: float, chance: random.Random) -> Iterator[Note]:
        pattern = list(_KITS[self.kit])
        if self.plan.energy > 0 and self.plan.mode == "creation":
            pattern += _BUSY
        last_bar = bar == section.first_bar + section.bars - 1
        if last_bar and self.plan.mode == "creation" and section.kind != "outro":
            pattern = [hit for hit in pattern if hit[1] < 3] + [("snare", 3 + i / 4, 0.5 + i / 8) for i in range(4)]
        for name, beat, velocity in pattern:
            humanised = velocity * chance.uniform(0.88, 1.0)
            pan = {"hat": 0.3, "open_hat": 0.3, "shaker": -0.3}.get(name, 0.0)
            yield Note(DRUMS, self._at(bar, beat), (name, 0, 0.0), level * humanised, pan)

    def _bass(self, bar: int, degree: int, level: float) -> Iterator[Note]:
        root = self.tone(degree) - 12
        fifth = self.tone(degree + 4) - 12
        beat = 60 / self.plan.tempo_bpm
        if self.plan.mode == "focus" or self.bass == "sub":
            rhythm: tuple[tuple[float, int, float], ...] = ((0, root, 3.5), (3.5, fifth, 0.5))
            if self.plan.mode == "focus":
                rhythm = ((0, root, 4.0),)
        elif self.bass == "synth_bass":
            rhythm = tuple((b + 0.5, root, 0.45) for b in range(4))
        else:
            rhythm = ((0, root, 1.5), (2, fifth, 1.0), (3, root, 0.9))
        for at, note, beats in rhythm:
            yield Note(BASS, self._at(bar, at), (self.bass, note, round(beats * beat, 3)), level, 0.0)

    def _voicing(self, section: Section, degree: int) -> list[int]:
        """The chord's notes folded into one octave window (common tones stay put), a seventh for lofi/dorian;
        each return of a section kind moves the window, so a repeat is voiced differently."""
        degrees = [degree, degree + 2, degree + 4]
        if self.plan.palette == "lofi" or self.plan.scale == "dorian":
            degrees.append(degree + 6)
        low = self.plan.root + 10 + (section.variation % 3) * 2
        return sorted(low + (self.tone(d) - low) % 12 for d in degrees)

    def _harmony(self, section: Section, bar: int, degree: int, level: float) -> Iterator[Note]:
        notes = self._voicing(section, degree)
        beat = 60 / self.plan.tempo_bpm
        if self.plan.mode == "focus" and self.harmony not in ("pad", "strings"):
            # A struck chord would swell and die away every two bars: an even arpeggio, one note a beat, instead.
            for count in range(BEATS_PER_BAR):
                note = notes[(bar * BEATS_PER_BAR + count) % len(notes)]
                sound = (self.harmony, note, round(2 * beat, 3))
                yield Note(HARMONY, self._at(bar, count), sound, level * 0.8, 0.3 * (-1) ** count)
            return
        if self.harmony in ("pad", "strings"):
            bars_per_chord = 2 if self.plan.mode == "focus" else 1
            if bar % bars_per_chord:
                return
            hits: tuple[tuple[float, float, float], ...] = ((0, 4.0 * bars_per_chord, 1.0),)
        elif self.harmony == "epiano":
            hits = ((0, 1.5, 1.0), (1.5, 1.0, 0.6), (2.5, 1.5, 0.8))
        else:  # a strummed guitar: down, down-up, up, down
            hits = ((0, 1.0, 1.0), (1, 0.5, 0.7), (1.5, 0.5, 0.6), (2.5, 0.5, 0.7), (3, 1.0, 0.9))
        for at, beats, velocity in hits:
            for index, note in enumerate(notes):
                strum = index * 0.012 / beat if self.harmony == "pluck" else 0.0
                pan = -0.5 + index / max(1, len(notes) - 1)
                sound = (self.harmony, note, round(beats * beat, 3))
                yield Note(HARMONY, self._at(bar, at + strum), sound, level * velocity / len(notes) ** 0.5, pan * 0.6)

    def _melody_plays(self, section: Section) -> bool:
        if self.plan.mode == "focus":
            return section.variation % 2 == 1  # a sparse motif every other segment, nothing insistent
        return True

    def _melody(self, section: Section, bar: int, degree: int, level: float) -> Iterator[Note]:
        motif = _motif(self.plan.seed, section.kind, section.variation, self.lead == "topline", self.plan.mode)
        half = (bar - section.first_bar) % 2
        beat = 60 / self.plan.tempo_bpm
        octave = 14 if self.lead == "topline" else 7
        pan = 0.15 if self.lead == "topline" else -0.2
        for at, step, beats in motif:
            if half * 4 <= at < half * 4 + 4:
                midi = self.tone(degree + octave + step)
                sound = (self.lead, midi, round(beats * beat, 3))
                yield Note(MELODY, self._at(bar, at - half * 4), sound, level, pan)


@cache
def _motif(seed: int, kind: str, variation: int, topline: bool, mode: str) -> tuple[tuple[float, int, float], ...]:
    """Two bars of melody as (beat, scale step from the chord's root, beats): chord tones on the strong beats,
    steps between; the same kind of section at the same variation plays the same motif."""
    chance = random.Random(f"{seed}-motif-{kind}-{variation}")  # noqa: S311 - musical choices # nosec B311
    if mode == "focus":
        rhythms: list[list[float]] = [[0, 3], [0, 2, 6], [1, 5]]
    elif topline:
        rhythms = [[0, 1.5, 2, 4, 5, 6], [0, 1, 2, 3, 4, 6], [0.5, 1.5, 2.5, 4, 4.5, 5.5]]
    else:
        rhythms = [
            [b / 2 for b in range(16) if b % 3 != 2],
            [0, 0.5, 1.5, 2, 3, 4, 4.5, 5.5, 6, 7],
            [0, 1, 1.5, 2.5, 4, 5],
        ]
    onsets = chance.choice(rhythms)
    steps = []
    step = chance.choice([0, 2, 4])
    for onset in onsets:
        if onset % 2 == 0:
            step = min((0, 2, 4, 7), key=lambda tone: abs(tone - step) + chance.random())
        else:
            step = max(-2, min(8, step + chance.choice([-2, -1, 1, 2])))
        steps.append(step)
    ends = [*onsets[1:], 8.0]
    gap = 0.25 if topline else 0.0  # a singer's line breathes
    return tuple(
        (onset, step, max(0.25, min(end - onset - gap, 2.0)))
        for onset, step, end in zip(onsets, steps, ends, strict=True)
    )
