"""Create a job: the engine catalogue's rules, then one conditional write through the job writer."""

import secrets
import time
from dataclasses import dataclass, field

from music_api.core.errors import GenerationNotAllowedError
from music_api.creation.request import CreateGenerationRequest
from music_api.engines.models import StoredEngine
from music_api.engines.store import EngineCatalogue
from music_api.generations.writer import JobRef, JobWriter, LifecycleJob, NewJob
from music_api.tracks.store import TrackRepository


@dataclass
class CachedCatalogue:
    """The enabled engines, re-read when older than ``ttl_seconds``: one Query per container per TTL, not per
    request. One per container (module state in handler.py), as Lambda reuses it across invocations."""

    ttl_seconds: float
    _engines: dict[str, StoredEngine] = field(default_factory=dict)
    _read_at: float | None = None

    def engines(self, catalogue: EngineCatalogue) -> dict[str, StoredEngine]:
        now = time.monotonic()
        if self._read_at is None or now - self._read_at >= self.ttl_seconds:
            self._engines = {engine.key: engine for engine in catalogue.enabled()}
            self._read_at = now
        return self._engines


def new_job_id() -> str:
    """``mgen_`` + 16 random hex digits: within the id format, never repeated in practice."""
    return f"mgen_{secrets.token_hex(8)}"


def check_engine_rules(request: CreateGenerationRequest, engines: dict[str, StoredEngine]) -> StoredEngine:
    """The rules the catalogue sets (422 naming the field); the body's own limits were checked when parsed."""
    body = request.body
    engine = engines.get(body.engine)
    if engine is None:
        raise GenerationNotAllowedError("engine", "is not an enabled engine (GET /engines lists them)")
    if body.duration_seconds > engine.max_duration_seconds:
        raise GenerationNotAllowedError(
            "duration_seconds", f"must be at most {engine.max_duration_seconds} for engine {engine.key}"
        )
    if body.lyrics is not None and not engine.lyrics:
        raise GenerationNotAllowedError("lyrics", f"engine {engine.key} does not take lyrics")
    if body.lyrics is not None and body.instrumental:
        raise GenerationNotAllowedError("lyrics", "an instrumental track has no lyrics")
    return engine


def check_seed_track(request: CreateGenerationRequest, tracks: TrackRepository) -> None:
    """``seed_track_id`` must name a track the caller can access: one GetItem of the caller's own track key, so a
    missing track and another user's answer alike (422 naming the field)."""
    seed_track_id = request.body.seed_track_id
    if seed_track_id is None:
        return
    if tracks.get(request.organization_id, request.caller.user_id, seed_track_id) is None:
        raise GenerationNotAllowedError("seed_track_id", "is not a track of yours in this organization")


def create_job(request: CreateGenerationRequest, writer: JobWriter, job_id: str) -> LifecycleJob:
    """The queued job, with the generation request stored on it for the worker (never returned by GET)."""
    body = request.body
    ref = JobRef(request.organization_id, request.caller.user_id, job_id)
    stored_request = body.model_dump(exclude={"idempotency_key"}, exclude_none=True)
    return writer.create(NewJob(ref, engine=body.engine, mode=body.mode), stored_request).job
