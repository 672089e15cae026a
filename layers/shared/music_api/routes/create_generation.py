"""POST /v1/music/{organization_id}/generations: a new job, queued and handed to the workers, answered 202.

The request is parsed strictly (415, 400 naming the field or header); the new job's rules and write are the jobs
domain's (music_api.jobs.create), run once per idempotency key (music_api.jobs.idempotency).
"""

import base64
import json
import re
from collections.abc import Mapping
from typing import Any, Final

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from music_api.core.aws import dynamodb_client, sqs_client
from music_api.core.caller import caller_of, member_organization
from music_api.core.containers import per_container
from music_api.core.errors import (
    BodyFieldError,
    GenerationNotAllowedError,
    IdempotencyKeyInUseError,
    IdempotencyKeyReusedError,
    InternalError,
    InvalidJsonError,
    RequestValidationError,
    ServiceUnavailableError,
    UnsupportedMediaTypeError,
)
from music_api.core.observability import logger, metrics
from music_api.core.openapi import ORGANIZATION_ID, FunctionError, HeaderParameter, Operation, caller_errors
from music_api.core.route import Answer, route
from music_api.dispatch.queue import DispatchError, GenerationQueue
from music_api.engines.store import CachedCatalogue, EngineCatalogue
from music_api.jobs.create import (
    IDEMPOTENCY_KEY_PATTERN,
    CreateGenerationBody,
    CreateGenerationRequest,
    CreationSettings,
    IdempotencyKey,
    check_engine_rules,
    check_webhook_url,
    create_job,
    creation_settings,
)
from music_api.jobs.idempotency import CreatedJob, create_once
from music_api.jobs.views import GenerationJob, queued_view
from music_api.jobs.writer import JobRef, JobWriter, LifecycleJob
from music_api.tracks.store import TrackRepository

# What a decoder puts in place of bytes that are not UTF-8 (API Gateway's too).
REPLACEMENT_CHARACTER: Final = "\ufffd"
# An unknown field is named back only when its name is short and plain; otherwise it could be anything.
PLAIN_FIELD_NAME: Final = re.compile(r"[A-Za-z0-9_]{1,64}")
UNKNOWN_FIELD: Final = "an unknown field"
# Longest integer a body may hold: every number of this request is far shorter. A longer one is never converted
# (Python refuses over 4,300 digits, with a ValueError, and takes quadratic time below that).
MAX_INTEGER_DIGITS: Final = 20
IDEMPOTENCY_KEY_HEADER: Final = "Idempotency-Key"
FORMAT_REASON: Final = "has a format or characters this field does not allow (docs/api-reference.md)"
# A replay's answer is the first request's (status, body, Location); this header tells the two apart.
REPLAYED_HEADER: Final = "Idempotent-Replayed"


def parse_request(event: Mapping[str, Any]) -> CreateGenerationRequest:
    """Caller, organization (401/400/403), then content type (415), the Idempotency-Key header, JSON (400),
    fields (400 naming the field or header)."""
    caller = caller_of(event)
    organization_id = member_organization(event, caller)
    headers = {str(name).lower(): value for name, value in (event.get("headers") or {}).items()}
    media_type = str(headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaTypeError()
    header_key = _header_idempotency_key(event)
    body = _json_object(event)
    try:
        parsed = CreateGenerationBody.model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise BodyFieldError(_field_name(error), _reason(error)) from None
    context = event.get("requestContext") or {}
    path = str(context.get("path") or event.get("path") or "")
    body_key = IdempotencyKey(parsed.idempotency_key, "idempotency_key") if parsed.idempotency_key else None
    return CreateGenerationRequest(
        organization_id=organization_id, caller=caller, body=parsed, path=path, idempotency_key=header_key or body_key
    )


def _header_idempotency_key(event: Mapping[str, Any]) -> IdempotencyKey | None:
    """The header, checked by the body field's own rule. Sent twice it is refused: which one would count?"""
    wanted = IDEMPOTENCY_KEY_HEADER.lower()
    values = [
        value
        for name, sent in (event.get("multiValueHeaders") or {}).items()
        if str(name).lower() == wanted
        for value in (sent or [])
    ]
    if not values:
        values = [value for name, value in (event.get("headers") or {}).items() if str(name).lower() == wanted]
    if not values:
        return None
    if len(values) > 1:
        raise RequestValidationError(IDEMPOTENCY_KEY_HEADER, "must be sent once", location="header")
    (value,) = values
    if not isinstance(value, str) or re.fullmatch(IDEMPOTENCY_KEY_PATTERN, value) is None:
        raise RequestValidationError(IDEMPOTENCY_KEY_HEADER, FORMAT_REASON, location="header")
    return IdempotencyKey(value, IDEMPOTENCY_KEY_HEADER)


def _json_object(event: Mapping[str, Any]) -> dict[str, Any]:
    raw = _body_text(event)
    try:
        body = json.loads(raw, parse_int=_bounded_int)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError, as are int() and float() failures
        raise InvalidJsonError("Body does not parse as JSON") from None
    if not isinstance(body, dict):
        raise InvalidJsonError("Body is JSON but not an object")
    return body


def _body_text(event: Mapping[str, Any]) -> str:
    """The body as text, refused where it was not UTF-8. API Gateway passes a body whose media type is not one of
    the API's binary media types as text, with each invalid UTF-8 sequence replaced by U+FFFD (docs/security.md,
    "Invalid UTF-8"): such a body is refused, since a replaced byte cannot be told from a sent U+FFFD. A binary one
    arrives base64-encoded and is decoded strictly."""
    raw = event.get("body")
    if not isinstance(raw, str):
        raise InvalidJsonError("Body missing or not text")
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(raw, validate=True).decode("utf-8")
        except ValueError:  # binascii.Error and UnicodeDecodeError both are
            raise InvalidJsonError("Body is not base64-encoded UTF-8") from None
    if REPLACEMENT_CHARACTER in raw:
        raise InvalidJsonError("Body is not valid UTF-8")
    return raw


class OversizedInteger:
    """A JSON integer of more than ``MAX_INTEGER_DIGITS`` digits, left unconverted: no field takes it (strict
    types), so validation refuses it naming the field it was sent in."""

    __slots__ = ()


def _bounded_int(text: str) -> int | OversizedInteger:
    return int(text) if len(text.lstrip("-")) <= MAX_INTEGER_DIGITS else OversizedInteger()


def _field_name(error: Mapping[str, Any]) -> str:
    """Where the error is, by our field names and list positions; an unknown field's name (the client's text) only
    when short and plain, so that neither the body nor the log echoes whatever the client sent."""
    location = error["loc"]
    if error["type"] == "extra_forbidden" and not all(
        isinstance(part, int) or PLAIN_FIELD_NAME.fullmatch(part) for part in location
    ):
        return UNKNOWN_FIELD
    return ".".join(str(part) for part in location) or "body"


def _reason(error: Mapping[str, Any]) -> str:
    """pydantic's message without the input echoed back; printable and short (the envelope's limits)."""
    if isinstance(error.get("input"), OversizedInteger):
        return f"must be a number of at most {MAX_INTEGER_DIGITS} digits"
    if error["type"] == "extra_forbidden":
        return "is not a field of this request"
    if error["type"] == "missing":
        return "is required"
    if error["type"] == "string_pattern_mismatch":
        return FORMAT_REASON
    message = str(error["msg"]).encode("ascii", "replace").decode()
    return message[:200]


@per_container
def engine_cache() -> CachedCatalogue:
    """Per container, as Lambda reuses it: the catalogue is read at most once per ENGINE_CACHE_SECONDS."""
    return CachedCatalogue(creation_settings().engine_cache_seconds)


def create_generation(
    request: CreateGenerationRequest, settings: CreationSettings, context: LambdaContext
) -> CreatedJob:
    """The webhook URL's form, then, once per idempotency key, the engine rules and the queued job."""
    check_webhook_url(request, settings.url_policy())
    logger.append_keys(organization_id=request.organization_id)
    return create_once(request, context, lambda: _new_queued_job(request, settings))


def check_seed_track(request: CreateGenerationRequest, tracks: TrackRepository) -> None:
    """``seed_track_id`` must name a track the caller can access: one GetItem of the caller's own track key, so a
    missing track and another user's answer alike (422 naming the field)."""
    seed_track_id = request.body.seed_track_id
    if seed_track_id is None:
        return
    if tracks.get(request.organization_id, request.caller.user_id, seed_track_id) is None:
        raise GenerationNotAllowedError("seed_track_id", "is not a track of yours in this organization")


def _new_queued_job(request: CreateGenerationRequest, settings: CreationSettings) -> GenerationJob:
    """The engine catalogue's rules, then the queued job through the job writer: what an idempotency key guards."""
    client = dynamodb_client()
    engines = engine_cache().engines(EngineCatalogue(client, settings.jobs_table_name))
    engine = check_engine_rules(request, engines)
    check_seed_track(request, TrackRepository(client, settings.jobs_table_name))
    written = create_job(request, JobWriter(client, settings.jobs_table_name))
    job = written.job
    logger.append_keys(job_id=job.id)
    if job.status == "queued":  # an earlier attempt's job may still wait for a message that attempt never sent
        dispatch(job, settings)
    if not written.changed:
        logger.info("Generation job of an earlier attempt with this idempotency key answered")
        metrics.add_metric(name="GenerationCreateRepeated", unit=MetricUnit.Count, value=1)
        return queued_view(job)
    metrics.add_dimension(name="engine", value=engine.key)
    metrics.add_metric(name="GenerationJobCreated", unit=MetricUnit.Count, value=1)
    logger.info("Generation job created", extra={"engine": engine.key, "mode": job.mode})
    return queued_view(job)


def dispatch(job: LifecycleJob, settings: CreationSettings) -> None:
    """Hand the new job to the workers. A failed send is not the client's failure: the job is stored, and the
    dispatch sweeper sends it once the grace has passed (docs/architecture.md#no-job-stays-queued)."""
    try:
        GenerationQueue(sqs_client(), settings.generation_queue_url).send(
            JobRef(job.organization_id, job.user_id, job.id)
        )
    except DispatchError as error:
        logger.warning("Generation job not sent to the queue; the sweeper will", extra={"reason": error.reason})
        # Outside the request's metric set, which gets the engine dimension: the alarm counts {service} only.
        with single_metric(name="GenerationDispatchFailed", unit=MetricUnit.Count, value=1):
            pass  # written as the block ends


def answer(created: CreatedJob, settings: CreationSettings) -> Answer:
    """202 with the queued job; Location relative to the request's URL (RFC 9110 allows it): right behind any stage
    or base path. A replay says so in a header of its own."""
    headers = {"Location": f"generations/{created.job.id}"}
    if created.replayed:
        logger.info("Generation job replayed for its idempotency key", extra={"job_id": created.job.id})
        metrics.add_metric(name="GenerationCreateReplayed", unit=MetricUnit.Count, value=1)
        headers[REPLAYED_HEADER] = "true"
    return Answer(202, created.job, retry_after_seconds=settings.queued_retry_after_seconds, headers=headers)


IDEMPOTENCY_KEY_TTL_HOURS = CreationSettings.model_fields["idempotency_key_ttl_seconds"].default // 3600
IDEMPOTENCY_KEY = HeaderParameter(
    name=IDEMPOTENCY_KEY_HEADER,
    schema={"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN, "minLength": 8, "maxLength": 128},
    description=(
        "Makes the create safe to retry: the first request with a key creates the job, a repeat from the same "
        "organization and user with the same body answers that job again (202, Idempotent-Replayed: true) and "
        "creates nothing; the same key with another body is a 409 IDEMPOTENCY_KEY_REUSED, and a repeat while "
        "the first is still being carried out a 409 IDEMPOTENCY_KEY_IN_USE with Retry-After. Wins over the "
        "body's idempotency_key. A key answers for IDEMPOTENCY_KEY_TTL_SECONDS (default "
        f"{IDEMPOTENCY_KEY_TTL_HOURS} h) after its job was created; a failed attempt (4xx, 5xx) leaves it free. "
        "8 to 128 letters, digits, _ . : or - (a UUID fits)."
    ),
    example="3f9c2b7e-5d41-4a8e-9b6f-0c1d2e3f4a5b",
)

OPERATION = Operation(
    operation_id="createGeneration",
    method="post",
    path="/v1/music/{organization_id}/generations",
    tag="Generations",
    summary="Create a generation job",
    description=(
        "Submit a new generation request. Answers 202 with the new job, queued; follow it with the URL in "
        "Location (GET the job), no faster than Retry-After. The body is checked strictly: unknown fields, "
        "wrong types and values outside the documented limits are a 400 naming the field; a request the "
        "engine catalogue rules out (an engine that is not enabled, a duration above the engine's maximum, "
        "lyrics for an engine that takes none or for an instrumental track) is a 422 naming the field. "
        "seed_track_id must name a track the caller generated in this organization (GET the track): any "
        "other id, whether it does not exist or is another user's, is the same 422 naming seed_track_id. With "
        "an Idempotency-Key (header, or the body's idempotency_key) a retried request never creates a second "
        "job; without one every request creates a job."
    ),
    parameters=(ORGANIZATION_ID,),
    request_headers=(IDEMPOTENCY_KEY,),
    request_model=CreateGenerationBody,
    success_status="202",
    success_model=GenerationJob,
    success_description=(
        "The new job, queued at progress 0 (no URL, no track yet). A replay (same idempotency key, same "
        "body) answers the same: the job as it was first answered, the same Location, and "
        "Idempotent-Replayed: true; GET the job for its state now."
    ),
    success_headers=("Location", "Retry-After-Queued", REPLAYED_HEADER),
    errors=(
        FunctionError(
            BodyFieldError("duration_seconds", "Input should be less than or equal to 3600"),
            "a body field is missing, of the wrong type, outside its limits, or not a field of this request; "
            "details.field names it (dotted for an item of a list, e.g. style_tags.0), details.reason says why.",
        ),
        FunctionError(
            RequestValidationError(IDEMPOTENCY_KEY_HEADER, FORMAT_REASON, location="header"),
            "the Idempotency-Key header breaks its rule or is sent more than once.",
        ),
        FunctionError(InvalidJsonError(), "the body is empty, does not parse as JSON, or is not a JSON object."),
        *caller_errors(),
        FunctionError(
            IdempotencyKeyReusedError(IDEMPOTENCY_KEY_HEADER),
            "the caller's idempotency key already created a job from another body (fields compared after "
            "defaults are filled in); details.field names where the key was sent. Nothing is created.",
        ),
        FunctionError(
            IdempotencyKeyInUseError(IDEMPOTENCY_KEY_HEADER),
            "the first request with this idempotency key is still being carried out: retry after Retry-After "
            "for its answer.",
        ),
        FunctionError(UnsupportedMediaTypeError(), "the Content-Type is not application/json."),
        FunctionError(
            GenerationNotAllowedError("duration_seconds", "must be at most 30 for engine sketch"),
            "the engine catalogue rules the request out, or seed_track_id is not a track of the caller's; "
            "details.field and details.reason say which rule.",
        ),
        FunctionError(
            InternalError(),
            "anything unexpected (a corrupt catalogue item, invalid settings); the cause is only in the logs.",
        ),
        FunctionError(
            ServiceUnavailableError(),
            "the job store, the catalogue or the idempotency records are throttled or unreachable.",
        ),
    ),
    examples="create-generation.yaml",
)


lambda_handler = route(settings=creation_settings, parse=parse_request, operation=create_generation, answer=answer)
