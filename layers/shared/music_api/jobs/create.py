"""A new job: the body a client sends (``CreateGenerationBody``, published as the OpenAPI request schema), the
request it makes with its caller and idempotency key, the engine catalogue's rules, and the one conditional write.

Limits are ours (the published page gives none): documented in docs/api-reference.md and the OpenAPI schema.
The route (music_api.routes.create_generation) parses the event into a ``CreateGenerationRequest``.
"""

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from music_api.core.caller import Caller
from music_api.core.containers import per_container
from music_api.core.errors import BodyFieldError, GenerationNotAllowedError, IdempotencyKeyReusedError
from music_api.core.ids import TRACK_ID_MAX_LENGTH, TRACK_ID_PATTERN, anchored
from music_api.engines.models import ENGINE_KEY_PATTERN, StoredEngine
from music_api.jobs.writer import JobConflictError, JobRef, JobWrite, JobWriter, NewJob
from music_api.webhooks.settings import WebhookUrlSettings
from music_api.webhooks.url import MAX_URL_LENGTH, UrlPolicy, WebhookUrlError, check_url

# Longest a job may be asked to run, whatever the engine: the engine's own maximum is checked after parsing.
MAX_DURATION_SECONDS: Final = 3600
# What no text field takes (docs/security.md, "Text fields"): the C0 controls but tab, line feed and carriage return;
# DEL and the C1 controls; the bidirectional embedding, override and isolate controls (U+202A-U+202E,
# U+2066-U+2069), which reorder what a reader sees; the byte order mark and the interlinear annotation characters.
# Each class below excludes them itself: a bare \S would match a control character.
_NEVER: Final = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb"
# Single-line fields (a title, a tag) also take no tab, line break, or Unicode line or paragraph separator.
_LINE_BREAKS: Final = r"\t\n\r\u2028\u2029"
# Printable characters (tab and line breaks allowed), at least one of them not a space: prompt, lyrics.
PRINTABLE: Final = rf"^[^{_NEVER}]*[^\s{_NEVER}][^{_NEVER}]*$"
# Printable characters on one line, at least one of them not a space: title, style tags.
PRINTABLE_LINE: Final = rf"^[^{_NEVER}{_LINE_BREAKS}]*[^\s{_NEVER}][^{_NEVER}{_LINE_BREAKS}]*$"
TEXT_RULE: Final = (
    "Printable characters, at least one not a space: no control character (C0 but tab and line breaks, DEL, C1), "
    "no bidirectional embedding, override or isolate control (U+202A-U+202E, U+2066-U+2069), no U+FEFF or "
    "U+FFF9-U+FFFB."
)
LINE_RULE: Final = f"{TEXT_RULE} One line: no tab, line break, U+2028 or U+2029 either."
IDEMPOTENCY_KEY_PATTERN: Final = r"^[A-Za-z0-9_.:-]{8,128}$"


class CreateGenerationBody(BaseModel):
    """The body of POST /generations. Unknown fields are refused; types are strict (``"30"`` is no integer)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    engine: Annotated[str, Field(pattern=f"^{ENGINE_KEY_PATTERN.pattern}$", max_length=32)]
    prompt: Annotated[str, Field(min_length=1, max_length=2000, pattern=PRINTABLE, description=TEXT_RULE)]
    duration_seconds: Annotated[int, Field(ge=1, le=MAX_DURATION_SECONDS)]
    mode: Literal["creation", "focus"] = "creation"
    instrumental: bool = False
    lyrics: Annotated[str, Field(min_length=1, max_length=5000, pattern=PRINTABLE, description=TEXT_RULE)] | None = None
    seed_track_id: Annotated[str, Field(pattern=anchored(TRACK_ID_PATTERN), max_length=TRACK_ID_MAX_LENGTH)] | None = (
        None
    )
    style_tags: (
        Annotated[
            list[Annotated[str, Field(min_length=1, max_length=40, pattern=PRINTABLE_LINE, description=LINE_RULE)]],
            Field(max_length=10),
        ]
        | None
    ) = None
    title: Annotated[str, Field(min_length=1, max_length=300, pattern=PRINTABLE_LINE, description=LINE_RULE)] | None = (
        None
    )
    idempotency_key: Annotated[str, Field(pattern=IDEMPOTENCY_KEY_PATTERN, max_length=128)] | None = None
    # Where the job's terminal event is delivered (music_api.webhooks); its rules are checked after parsing.
    webhook_url: (
        Annotated[
            str,
            Field(
                min_length=1,
                max_length=MAX_URL_LENGTH,
                json_schema_extra={"format": "uri"},
                description="Where the job's end is posted (webhooks: generationEnded). https with a public host "
                "on a live stage; no user name or password, no fragment. Never returned.",
            ),
        ]
        | None
    ) = None


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    value: str
    field: str  # where the client sent it (the header or the body field): what an error about it names


@dataclass(frozen=True, slots=True)
class CreateGenerationRequest:
    organization_id: str
    caller: Caller
    body: CreateGenerationBody
    path: str  # the request's path as the client sent it (stage included), for Location
    idempotency_key: IdempotencyKey | None = None  # the header's, else the body's; None: every request creates

    def idempotency_scope(self, key: IdempotencyKey) -> dict[str, str]:
        """What one idempotency key stands for: the caller's (organization, the authorizer's user) and the key."""
        return {"organization_id": self.organization_id, "user_id": self.caller.user_id, "idempotency_key": key.value}


class CreationSettings(WebhookUrlSettings):
    """What POST /generations reads from its environment (template.yaml gives it exactly these)."""

    jobs_table_name: Annotated[str, Field(alias="JOBS_TABLE_NAME", min_length=3, max_length=255)]
    # Where each new job's message goes (one per job, its key only); never shown to a client.
    generation_queue_url: Annotated[str, Field(alias="GENERATION_QUEUE_URL", min_length=1, max_length=2048)]
    # How long a container trusts the catalogue it read: an operator's change reaches create within this.
    engine_cache_seconds: Annotated[float, Field(alias="ENGINE_CACHE_SECONDS", ge=0, le=300)] = 30
    # The first poll of a new job: as GET's Retry-After for a queued job.
    queued_retry_after_seconds: Annotated[int, Field(alias="QUEUED_RETRY_AFTER_SECONDS", ge=1, le=300)] = 5
    unavailable_retry_after_seconds: Annotated[int, Field(alias="UNAVAILABLE_RETRY_AFTER_SECONDS", ge=1, le=300)] = 1
    # Idempotency records (jobs/idempotency.py): their table, and how long a key answers with its first job.
    idempotency_table_name: Annotated[str, Field(alias="IDEMPOTENCY_TABLE_NAME", min_length=3, max_length=255)]
    idempotency_key_ttl_seconds: Annotated[int, Field(alias="IDEMPOTENCY_KEY_TTL_SECONDS", ge=60, le=7 * 86400)] = 86400


@per_container
def creation_settings() -> CreationSettings:
    """Validated on first use, once per container."""
    return CreationSettings.model_validate(os.environ)


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
