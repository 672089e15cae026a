"""Engines for the worker's tests, implementing music_api.worker.engine.Engine: the worker is tested with them
injected through the registry, never with the built-in synthesizer."""

import array
import math
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

import lameenc

from music_api.worker.engine import (
    AudioFile,
    EngineError,
    GeneratedTrack,
    GenerationCancelled,
    GenerationRequest,
    Progress,
)

SAMPLE_RATE = 44_100
BITRATE_KBPS = 128


def tone_mp3(seconds: float, frequency: float = 440.0) -> bytes:
    """A real stereo MP3 of a sine tone (LAME through lameenc): one second computed, repeated to ``seconds``."""
    second = array.array("h")
    for index in range(SAMPLE_RATE):
        value = int(8000 * math.sin(2 * math.pi * frequency * index / SAMPLE_RATE))
        second.extend((value, value))
    whole, part = divmod(int(seconds * SAMPLE_RATE), SAMPLE_RATE)
    samples = second * whole + second[: 2 * part]
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(BITRATE_KBPS)
    encoder.set_in_sample_rate(SAMPLE_RATE)
    encoder.set_channels(2)
    encoder.set_quality(7)
    return bytes(encoder.encode(samples.tobytes()) + encoder.flush())


def audio_file(seconds: float, frequency: float = 440.0) -> AudioFile:
    return AudioFile(tone_mp3(seconds, frequency), "audio/mpeg", "mp3", seconds, SAMPLE_RATE, BITRATE_KBPS, -14.0)


class ToneEngine:
    """A tone of the requested duration and two stems, in ten checkpoints."""

    def generate(self, request: GenerationRequest, progress: Progress) -> GeneratedTrack:
        for step in range(10):
            if progress.cancel_requested():
                raise GenerationCancelled()
            progress.report(step / 10)
        seconds = request.duration_seconds
        return GeneratedTrack(
            audio_file(seconds), {"bass": audio_file(seconds, 110.0), "melody": audio_file(seconds, 880.0)}
        )


class ScriptedEngine:
    """Raises the errors of ``SCRIPT`` one per call (set by a test), then makes a tone like ``ToneEngine``."""

    SCRIPT: ClassVar[list[EngineError]] = []

    def generate(self, request: GenerationRequest, progress: Progress) -> GeneratedTrack:
        if ScriptedEngine.SCRIPT:
            raise ScriptedEngine.SCRIPT.pop(0)
        return ToneEngine().generate(request, progress)


class BlockingEngine:
    """Works until a cancel is requested (reporting progress as it goes), or for ``LIMIT_SECONDS``, then ends as a
    tone; ``STARTED`` is set once it runs."""

    STARTED: ClassVar[threading.Event] = threading.Event()
    LIMIT_SECONDS: ClassVar[float] = 30.0

    def generate(self, request: GenerationRequest, progress: Progress) -> GeneratedTrack:
        BlockingEngine.STARTED.set()
        for fraction in _rising(BlockingEngine.LIMIT_SECONDS):
            if progress.cancel_requested():
                raise GenerationCancelled()
            progress.report(fraction)
        return ToneEngine().generate(request, progress)


def _rising(seconds: float) -> Iterator[float]:
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < seconds:
        yield elapsed / seconds
        time.sleep(0.05)
