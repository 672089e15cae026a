"""From the request to a plan: palette, tempo, key, mood and an arrangement of sections over time.

Which words do what is data (``PALETTE_WORDS``, ``ENERGY_WORDS``, ``SCALE_WORDS``, ``DRUM_WORDS``; docs/engines.md
prints the table). Words are looked up in the style tags first, then the prompt (lower case, whole words; two-word
phrases such as "hip hop" too). What the words leave open comes from a seed derived from the job id and the
request, so the same job always gets the same plan and so the same audio.
"""

import hashlib
import json
import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal

from music_api.worker.engine import GenerationRequest

SAMPLE_RATE: Final = 44_100
BEATS_PER_BAR: Final = 4

Palette = Literal["lofi", "ambient", "electronic", "acoustic", "cinematic"]
PALETTES: Final[tuple[Palette, ...]] = ("lofi", "ambient", "electronic", "acoustic", "cinematic")
Scale = Literal["major", "minor", "dorian"]

# palette: (slowest, fastest tempo in BPM, default scale, drums by default)
PALETTE_TRAITS: Final[dict[Palette, tuple[int, int, Scale, bool]]] = {
    "lofi": (70, 90, "dorian", True),
    "ambient": (60, 76, "major", False),
    "electronic": (112, 128, "minor", True),
    "acoustic": (84, 108, "major", True),
    "cinematic": (66, 96, "minor", True),
}
PALETTE_WORDS: Final[dict[str, Palette]] = {
    **dict.fromkeys(["lofi", "lo-fi", "hip hop", "hiphop", "beats", "study", "jazzy", "rhodes"], "lofi"),
    **dict.fromkeys(["ambient", "drone", "meditation", "sleep", "space", "atmospheric", "pad", "pads"], "ambient"),
    **dict.fromkeys(
        ["electronic", "edm", "house", "techno", "synth", "synthwave", "dance", "club", "retro", "80s"], "electronic"
    ),
    **dict.fromkeys(["acoustic", "guitar", "folk", "piano", "unplugged", "country", "singer-songwriter"], "acoustic"),
    **dict.fromkeys(
        ["cinematic", "orchestral", "epic", "strings", "film", "score", "trailer", "soundtrack"], "cinematic"
    ),
}
# Each word moves the energy (-2 calm .. +2 driving): the tempo within the palette's range, the drums' density.
ENERGY_WORDS: Final[dict[str, int]] = {
    **dict.fromkeys(["calm", "chill", "slow", "relaxed", "relaxing", "peaceful", "gentle", "soft", "sleepy"], -1),
    **dict.fromkeys(["quiet", "lullaby", "serene", "tranquil", "mellow", "focus", "background"], -1),
    **dict.fromkeys(["upbeat", "energetic", "fast", "driving", "party", "workout", "running", "intense"], 1),
    **dict.fromkeys(["powerful", "bouncy", "groovy", "hype", "excited", "exciting"], 1),
}
SCALE_WORDS: Final[dict[str, Scale]] = {
    **dict.fromkeys(["happy", "bright", "sunny", "uplifting", "joyful", "hopeful", "cheerful", "summer"], "major"),
    **dict.fromkeys(["sad", "dark", "melancholic", "melancholy", "moody", "night", "rain", "rainy", "lonely"], "minor"),
    **dict.fromkeys(["tense", "suspense", "haunting", "winter", "somber", "sombre"], "minor"),
    **dict.fromkeys(["dreamy", "mysterious", "jazz", "nostalgic", "wistful", "cool", "smooth"], "dorian"),
}
DRUM_WORDS: Final[dict[str, bool]] = {
    **dict.fromkeys(["drums", "beat", "groove", "percussion", "rhythmic", "drum"], True),
    **dict.fromkeys(["beatless", "drumless", "no drums", "without drums", "no percussion", "drone"], False),
}
NOTE_NAMES: Final = ("c", "c#", "d", "d#", "e", "f", "f#", "g", "g#", "a", "a#", "b")
_FLATS: Final = {"db": "c#", "eb": "d#", "gb": "f#", "ab": "g#", "bb": "a#"}
# "key of Eb", "key of C# minor", "A minor", "f sharp major": a bare "in a" is English, not a key.
_KEY: Final = re.compile(r"\bkey of ([a-g])(#|b|♯|♭| sharp| flat)?(?: (major|minor))?(?![\w#♯♭])")
_NAMED_KEY: Final = re.compile(r"\b([a-g])(#|b|♯|♭| sharp| flat)? (major|minor)\b")
_TEMPO: Final = re.compile(r"\b(\d{2,3}) ?bpm\b")
MIN_TEMPO: Final = 50
MAX_TEMPO: Final = 180

SCALE_STEPS: Final[dict[Scale, tuple[int, ...]]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
}
# Chord progressions as scale degrees (0 = the tonic), one chord per bar (two in focus mode); the verse and chorus
# of a creation use different ones.
PROGRESSIONS: Final[dict[Scale, tuple[tuple[int, ...], ...]]] = {
    "major": ((0, 4, 5, 3), (0, 5, 3, 4), (3, 4, 0, 5), (0, 3, 0, 4)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (5, 6, 0, 0), (0, 6, 5, 6)),
    "dorian": ((0, 3, 0, 3), (0, 6, 3, 4), (1, 4, 0, 3), (0, 3, 6, 4)),
}

SectionKind = Literal["intro", "verse", "chorus", "breakdown", "bridge", "outro", "flow"]
# Which parts play in each kind of section and how loud (0 = silent): drums, bass, harmony, melody.
SECTION_LEVELS: Final[dict[SectionKind, tuple[float, float, float, float]]] = {
    "intro": (0.0, 0.5, 1.0, 0.0),
    "verse": (0.8, 1.0, 0.9, 0.8),
    "chorus": (1.0, 1.0, 1.0, 1.0),
    "breakdown": (0.0, 0.6, 1.0, 0.6),
    "bridge": (0.6, 0.9, 1.0, 0.9),
    "outro": (0.5, 0.8, 1.0, 0.0),
    "flow": (0.6, 0.8, 1.0, 0.5),
}
_CREATION_CYCLE: Final[tuple[tuple[SectionKind, int], ...]] = (
    ("verse", 8),
    ("chorus", 8),
    ("verse", 8),
    ("breakdown", 4),
    ("chorus", 8),
    ("bridge", 8),
    ("chorus", 8),
)
FOCUS_SEGMENT_BARS: Final = 8
FADE_SECONDS: Final = 4.0
# LAME: 576 samples of encoder delay, then 1152-sample frames; the last frame it writes is padded with silence.
FRAME_SAMPLES: Final = 1152
_LAME_DELAY: Final = 1106


@dataclass(frozen=True)
class Section:
    kind: SectionKind
    first_bar: int
    bars: int
    progression: tuple[int, ...]
    variation: int  # 0, 1, 2 ...: the n-th time this kind of section plays (another motif, voicing, fill)


@dataclass(frozen=True)
class Plan:
    seed: int
    palette: Palette
    tempo_bpm: float
    key: str  # e.g. "a minor"
    root: int  # MIDI note of the tonic in the bass octave
    scale: Scale
    energy: int
    drums: bool
    lead: Literal["topline", "instrument", "none"]
    mode: Literal["creation", "focus"]
    samples: int  # PCM samples handed to the encoder
    frames: int  # MP3 frames it makes of them: the file lasts frames * 1152 / 44100 s
    sections: tuple[Section, ...]

    @property
    def bar_samples(self) -> float:
        return SAMPLE_RATE * 60 / self.tempo_bpm * BEATS_PER_BAR

    @property
    def words(self) -> dict[str, object]:
        """What the plan decided, for the job's metadata and the tests."""
        return {
            "palette": self.palette,
            "tempo_bpm": self.tempo_bpm,
            "key": self.key,
            "energy": self.energy,
            "drums": self.drums,
            "lead": self.lead,
            "sections": [section.kind for section in self.sections],
        }


def seed_of(request: GenerationRequest) -> int:
    """The same job and request give the same seed; any change to either gives another."""
    payload = json.dumps(
        [
            request.job_id,
            request.engine,
            request.prompt,
            request.duration_seconds,
            request.instrumental,
            request.mode,
            request.title,
            request.lyrics,
            list(request.style_tags),
            sorted((str(key), repr(value)) for key, value in request.settings.items()),
        ]
    )
    return int.from_bytes(hashlib.sha256(payload.encode()).digest()[:8], "big")


def _phrases(text: str) -> Iterator[str]:
    words = re.findall(r"[a-z0-9#♯♭'-]+", text.lower())
    yield from (" ".join(words[i : i + 2]) for i in range(len(words) - 1))
    yield from words


def _first[T](table: dict[str, T], texts: list[str]) -> T | None:
    for text in texts:
        for phrase in _phrases(text):
            if phrase in table:
                return table[phrase]
    return None


def explicit_key(text: str) -> tuple[int, Scale | None] | None:
    match = _KEY.search(text) or _NAMED_KEY.search(text)
    if match is None:
        return None
    name = match.group(1) + {"#": "#", "♯": "#", " sharp": "#", "b": "b", "♭": "b", " flat": "b"}.get(
        match.group(2) or "", ""
    )
    name = _FLATS.get(name, name)
    if name in ("cb", "fb", "e#", "b#"):
        return None
    quality = match.group(3)
    scale: Scale | None = None if quality is None else ("minor" if quality == "minor" else "major")
    return NOTE_NAMES.index(name), scale


def frames_for(duration_seconds: float) -> tuple[int, int]:
    """(PCM samples, MP3 frames): the frames closest to the duration, and the samples LAME turns into exactly that
    many frames (it writes (samples + 1106) // 1152 + 1), in the middle of the range that does."""
    frames = max(2, round(duration_seconds * SAMPLE_RATE / FRAME_SAMPLES))
    return frames * FRAME_SAMPLES - _LAME_DELAY - 1 - FRAME_SAMPLES // 2, frames


def make_plan(request: GenerationRequest, palette: Palette | None) -> Plan:
    """``palette`` is the engine's own (from its settings); None lets the words, or the seed, choose."""
    seed = seed_of(request)
    chance = random.Random(seed)  # noqa: S311 - musical choices, not secrets # nosec B311
    texts = [" ".join(request.style_tags), request.prompt, request.title or ""]
    named = palette or _first(PALETTE_WORDS, texts)
    chosen: Palette = named if named is not None else chance.choice(PALETTES)
    slowest, fastest, default_scale, default_drums = PALETTE_TRAITS[chosen]
    energy = max(-2, min(2, sum(ENERGY_WORDS.get(word, 0) for text in texts for word in set(_phrases(text)))))
    if request.mode == "focus":
        energy = max(-2, min(energy, 0) - 1)  # steady and low-distraction: the calm end of the palette
    tempo_match = _TEMPO.search(" ".join(texts).lower())
    if tempo_match is not None:
        tempo = float(max(MIN_TEMPO, min(MAX_TEMPO, int(tempo_match.group(1)))))
    else:
        position = (max(-2, energy) + 2) / 4
        tempo = round(slowest + (fastest - slowest) * position + chance.uniform(-3, 3), 1)
    key = explicit_key(" ".join(texts).lower())
    scale = (key[1] if key else None) or _first(SCALE_WORDS, texts) or default_scale
    tonic = key[0] if key else chance.randrange(12)
    drums = _first(DRUM_WORDS, texts)
    samples, frames = frames_for(request.duration_seconds)
    plan_without_sections = Plan(
        seed=seed,
        palette=chosen,
        tempo_bpm=tempo,
        key=f"{NOTE_NAMES[tonic].upper()} {scale}",
        root=43 + (tonic - 7) % 12,  # the tonic between G2 and F#3
        scale=scale,
        energy=energy,
        drums=default_drums if drums is None else drums,
        lead="instrument" if request.instrumental else "topline",
        mode="focus" if request.mode == "focus" else "creation",
        samples=samples,
        frames=frames,
        sections=(),
    )
    bars = max(1, math.ceil(samples / plan_without_sections.bar_samples))
    sections = _focus(bars, scale, chance) if request.mode == "focus" else _creation(bars, scale, chance)
    return Plan(**{**plan_without_sections.__dict__, "sections": sections})


def _creation(bars: int, scale: Scale, chance: random.Random) -> tuple[Section, ...]:
    """Intro, then verse / chorus / breakdown / bridge in turn (each return a variation), then an outro."""
    verse, chorus, bridge = chance.sample(PROGRESSIONS[scale], 3)
    progression = {"verse": verse, "chorus": chorus, "bridge": bridge, "breakdown": verse, "intro": verse}
    edge = min(4, max(1, bars // 8)) if bars >= 3 else 0
    sections = [Section("intro", 0, edge, verse, 0)] if edge else []
    bar, turn, seen = edge, 0, dict[str, int]()
    while bar < bars - edge:
        kind, length = _CREATION_CYCLE[turn % len(_CREATION_CYCLE)]
        length = min(length, bars - edge - bar)
        sections.append(Section(kind, bar, length, progression[kind], seen.get(kind, 0)))
        seen[kind] = seen.get(kind, 0) + 1
        bar, turn = bar + length, turn + 1
    if edge:
        sections.append(Section("outro", bar, bars - bar, verse, 0))
    return tuple(sections)


def _focus(bars: int, scale: Scale, chance: random.Random) -> tuple[Section, ...]:
    """Eight-bar segments of one steady texture, chained: only the voicing and the sparse motif change."""
    progression = chance.choice(PROGRESSIONS[scale])
    return tuple(
        Section("flow", first, min(FOCUS_SEGMENT_BARS, bars - first), progression, index)
        for index, first in enumerate(range(0, bars, FOCUS_SEGMENT_BARS))
    )
