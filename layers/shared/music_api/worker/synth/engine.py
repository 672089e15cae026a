"""SynthEngine: the built-in engine. The request's words make a plan (plan.py), the plan is rendered in chunks of
at most four bars (render.py), twice: the first pass only measures the integrated loudness, the second applies
the one gain that brings it to -14 LUFS, limits the peaks to -1 dBFS and encodes the master (and the stems) as it
goes. Rendering is about a tenth of the cost, so two passes are cheaper than holding an hour of audio in memory.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from music_api.worker.engine import (
    AudioFile,
    GeneratedTrack,
    GenerationCancelled,
    GenerationRequest,
    PermanentEngineError,
    Progress,
)
from music_api.worker.synth import mp3
from music_api.worker.synth.limiter import Limiter, Parts
from music_api.worker.synth.loudness import KWeighting, LoudnessMeter
from music_api.worker.synth.plan import SAMPLE_RATE, Palette, Plan, make_plan
from music_api.worker.synth.render import STEMS, Renderer

TARGET_LUFS: Final = -14.0
CEILING: Final = 10 ** (-1 / 20)  # -1 dBFS sample peak: headroom for the decoder's inter-sample overs
LONGEST_SECONDS: Final = 3600
BITRATES_KBPS: Final = (128, 160, 192, 256, 320)  # constant bitrates of at least 128 kbit/s
MEASURE_SHARE: Final = 0.2  # of the progress: the measuring pass; the encoding pass is the rest


def _lame_bitrate(kbps: int) -> int:
    if kbps not in BITRATES_KBPS:
        raise ValueError(f"one of {BITRATES_KBPS}")
    return kbps


class SynthSettings(BaseModel):
    """The catalogue item's settings for this implementation (all optional)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    stems: bool = False
    palette: Palette | None = None  # None: the words choose (plan.PALETTE_WORDS)
    # Lax for the numbers: DynamoDB hands them over as Decimal.
    max_duration_seconds: Annotated[int, Field(strict=False, ge=1, le=LONGEST_SECONDS)] = LONGEST_SECONDS
    bitrate_kbps: Annotated[int, Field(strict=False), AfterValidator(_lame_bitrate)] = 160


def parse_settings(settings: Mapping[str, Any]) -> SynthSettings:
    try:
        return SynthSettings.model_validate(dict(settings))
    except ValidationError as error:
        names = sorted({".".join(str(part) for part in item["loc"]) or "settings" for item in error.errors()})
        raise PermanentEngineError(
            f"The engine is misconfigured (settings: {', '.join(names)}); please contact the operator."
        ) from error


@dataclass
class _Checkpoints:
    """Progress over both passes, and the cancel check at every chunk."""

    progress: Progress
    samples: int

    def passed(self, done: int, *, measuring: bool) -> None:
        if self.progress.cancel_requested():
            raise GenerationCancelled
        share = done / self.samples
        self.progress.report(share * MEASURE_SHARE if measuring else MEASURE_SHARE + share * (1 - MEASURE_SHARE))


class SynthEngine:
    def generate(self, request: GenerationRequest, progress: Progress) -> GeneratedTrack:
        settings = parse_settings(request.settings)
        if not 1 <= request.duration_seconds <= settings.max_duration_seconds:
            raise PermanentEngineError(f"This engine makes tracks of 1 to {settings.max_duration_seconds} seconds.")
        plan = make_plan(request, settings.palette)
        checkpoints = _Checkpoints(progress, plan.samples)
        checkpoints.passed(0, measuring=True)
        loudness, sounding = measure(plan, checkpoints)
        if not np.isfinite(loudness):
            raise PermanentEngineError("The engine rendered silence; please submit the generation again.")
        gain = 10 ** ((TARGET_LUFS - loudness) / 20)
        stems = [name for name, heard in zip(STEMS, sounding, strict=True) if heard] if settings.stems else []
        return _encode(plan, gain, stems, settings.bitrate_kbps, checkpoints)


def measure(plan: Plan, checkpoints: "_Checkpoints | None" = None) -> tuple[float, list[bool]]:
    """The master's integrated loudness as rendered, and which stems make any sound at all."""
    meter = LoudnessMeter(SAMPLE_RATE)
    sounding = [False] * len(STEMS)
    for start, parts in Renderer(plan).chunks():
        meter.add(parts.sum(axis=0))
        sounding = [heard or bool(np.any(part)) for heard, part in zip(sounding, parts, strict=True)]
        if checkpoints is not None:
            checkpoints.passed(start + parts.shape[1], measuring=True)
    return meter.integrated(), sounding


def mastered(plan: Plan, gain: float) -> Iterator[tuple[int, Parts]]:
    """The plan rendered again, at ``gain`` and through the limiter: (first sample, the four stems) in order; the
    master is their sum."""
    limiter = Limiter(CEILING, len(STEMS))
    emitted = 0
    for start, parts in Renderer(plan).chunks():
        ready = limiter.process(parts * gain, final=start + parts.shape[1] == plan.samples)
        yield emitted, ready
        emitted += ready.shape[1]


def _encode(plan: Plan, gain: float, stems: list[str], bitrate: int, checkpoints: _Checkpoints) -> GeneratedTrack:
    names = ["master", *stems]
    chosen = [STEMS.index(name) for name in stems]
    encoders = {name: mp3.Encoder(SAMPLE_RATE, bitrate) for name in names}
    meters = {name: LoudnessMeter(SAMPLE_RATE) for name in names}
    weighting = KWeighting(SAMPLE_RATE)
    for start, ready in mastered(plan, gain):
        master = ready.sum(axis=0)
        encoders["master"].encode(master)
        for name, index in zip(stems, chosen, strict=True):
            encoders[name].encode(np.clip(ready[index], -1.0, 1.0))  # the master is limited; a stem might not be
        if stems:  # K-weighting is linear: the weighted stems sum to the weighted master
            weighted = weighting.apply(ready)
            meters["master"].add_weighted(weighted.sum(axis=0))
            for name, index in zip(stems, chosen, strict=True):
                meters[name].add_weighted(weighted[index])
        else:
            meters["master"].add(master)
        checkpoints.passed(start + ready.shape[1], measuring=False)
    files = {name: _audio_file(encoders[name].finish(), meters[name].integrated()) for name in names}
    return GeneratedTrack(master=files.pop("master"), stems=files)


def _audio_file(data: bytes, loudness: float) -> AudioFile:
    facts = mp3.facts(data)
    return AudioFile(
        data=data,
        mime_type=mp3.MIME_TYPE,
        extension=mp3.EXTENSION,
        duration_seconds=round(facts.duration_seconds, 3),
        sample_rate_hz=facts.sample_rate_hz,
        bitrate_kbps=facts.bitrate_kbps,
        loudness_lufs=round(loudness, 2),
    )
