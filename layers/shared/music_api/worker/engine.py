"""What an engine is: the request in, progress and a cancel check while it works, the audio out.

An engine knows nothing of queues, DynamoDB or S3: the worker owns those. It raises TransientEngineError for
what a later attempt may not meet (the message returns to the queue), PermanentEngineError for what it never
will (the job fails with the error's user-safe message), and GenerationCancelled when it saw a cancel."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class GenerationRequest:
    """One job's request as the engine sees it (the stored request, validated by create)."""

    job_id: str
    engine: str
    prompt: str
    duration_seconds: int
    instrumental: bool
    mode: str  # "creation" or "focus"
    title: str | None = None
    lyrics: str | None = None
    style_tags: tuple[str, ...] = ()
    # The catalogue item's implementation settings (operator-managed, engine-specific, validated by the engine).
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AudioFile:
    """One encoded file and what was measured of it (from the encoded bytes, not from the request)."""

    data: bytes
    mime_type: str  # e.g. "audio/mpeg"
    extension: str  # e.g. "mp3"
    duration_seconds: float
    sample_rate_hz: int
    bitrate_kbps: int
    loudness_lufs: float


@dataclass(frozen=True)
class GeneratedTrack:
    """The master and its stems by name (empty when the engine makes none); the stems sum to the master."""

    master: AudioFile
    stems: Mapping[str, AudioFile] = field(default_factory=dict)


class Progress(Protocol):
    """What the worker lends the engine while it works."""

    def report(self, fraction: float) -> None:
        """0.0 to 1.0; the worker keeps progress monotonic and bounds how often it is written."""

    def cancel_requested(self) -> bool:
        """True once a cancel was requested; the engine then raises GenerationCancelled at its next checkpoint."""


class Engine(Protocol):
    def generate(self, request: GenerationRequest, progress: Progress) -> GeneratedTrack: ...


class EngineError(Exception):
    """Base of the errors an engine may raise; ``user_message`` is safe to show to the job's owner."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class TransientEngineError(EngineError):
    """Worth another attempt: the worker returns the message to the queue (until the dead-letter queue)."""


class PermanentEngineError(EngineError):
    """Never worth another attempt: the job fails with ``user_message``."""


class GenerationCancelled(Exception):  # noqa: N818 - a signal, not an error
    """The engine saw ``cancel_requested()`` and stopped; the worker ends the job cancelled."""
