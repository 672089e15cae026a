"""Create a job: the engine catalogue's rules, then one conditional write through the job writer."""

import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field

from music_api.core.errors import BodyFieldError, GenerationNotAllowedError, IdempotencyKeyReusedError
from music_api.creation.request import CreateGenerationRequest
from music_api.engines.models import StoredEngine
from music_api.engines.store import EngineCatalogue
from music_api.generations.writer import JobConflictError, JobRef, JobWrite, JobWriter, NewJob
from music_api.tracks.store import TrackRepository
from music_api.webhooks.url import UrlPolicy, WebhookUrlError, check_url


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


def job_id_for(request: CreateGenerationRequest) -> str:
    """``mgen_`` + 16 hex digits: random without an idempotency key; with one, derived from the caller and the key.

    The idempotency record is written after the job: when that write fails (or the step raises after the job
    write), the record is gone or expires and the client's retry runs the create again. A derived id makes that
    retry find the job its first attempt wrote (the writer answers a repeat) instead of writing a second one."""
    key = request.idempotency_key
    if key is None:
        return f"mgen_{secrets.token_hex(8)}"
    scope = json.dumps(request.idempotency_scope(key), sort_keys=True)
    return f"mgen_{hashlib.sha256(scope.encode()).hexdigest()[:16]}"


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


def check_webhook_url(request: CreateGenerationRequest, policy: UrlPolicy) -> None:
    """The URL's form by this stage's rules (400 naming the field); its addresses are checked at every delivery
    attempt, since DNS may answer differently then."""
    if request.body.webhook_url is None:
        return
    try:
        check_url(request.body.webhook_url, policy)
    except WebhookUrlError as refused:
        raise BodyFieldError("webhook_url", str(refused)) from None


def check_seed_track(request: CreateGenerationRequest, tracks: TrackRepository) -> None:
    """``seed_track_id`` must name a track the caller can access: one GetItem of the caller's own track key, so a
    missing track and another user's answer alike (422 naming the field)."""
    seed_track_id = request.body.seed_track_id
    if seed_track_id is None:
        return
    if tracks.get(request.organization_id, request.caller.user_id, seed_track_id) is None:
        raise GenerationNotAllowedError("seed_track_id", "is not a track of yours in this organization")


def create_job(request: CreateGenerationRequest, writer: JobWriter) -> JobWrite:
    """The queued job, with the generation request stored on it for the worker (never returned by GET); for a key
    whose job already exists (a retry past a lost idempotency record), that job as it is now (``changed`` false),
    or 409 when it was created from another body."""
    body = request.body
    ref = JobRef(request.organization_id, request.caller.user_id, job_id_for(request))
    stored_request = body.model_dump(exclude={"idempotency_key"}, exclude_none=True)
    try:
        return writer.create(NewJob(ref, engine=body.engine, mode=body.mode), stored_request)
    except JobConflictError:
        if request.idempotency_key is None:
            raise
        raise IdempotencyKeyReusedError(request.idempotency_key.field) from None
