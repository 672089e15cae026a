"""GET /v1/music/{organization_id}/generations: the caller's jobs in the organization, newest first.

DynamoDB has no offset: a page at ``offset`` reads ``offset + limit`` index entries and drops the first
``offset``, so the offset is capped (``MAX_OFFSET``) to bound what one request may read (docs/performance.md).
Both indexes are keyed by the caller (docs/data-model.md, "Listing"): ``jobs_by_created`` (the table's ``pk``,
sorted by ``created_key``) and, with a status filter, ``jobs_by_status`` (``status_pk``, the same sort key). No
URL is minted for a list: ``playback_url`` and ``track`` are always null.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, cast, get_args

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from music_api.core.aws import dynamodb_client
from music_api.core.caller import Caller, caller_of, member_organization
from music_api.core.envelope import RESPONSE
from music_api.core.errors import RequestValidationError, ServiceUnavailableError
from music_api.core.events import mapping
from music_api.core.observability import logger, metrics
from music_api.core.openapi import ORGANIZATION_ID, FunctionError, Operation, QueryParameter, caller_errors, unexpected
from music_api.core.route import Answer, route
from music_api.jobs.models import JobStatus, StoredJobSummary
from music_api.jobs.settings import GenerationSettings, generation_settings
from music_api.jobs.store import JobRepository
from music_api.jobs.views import GenerationJob, list_view

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 100
MAX_OFFSET: Final = 1000
STATUSES: Final[tuple[str, ...]] = get_args(JobStatus)
QUERY_PARAMETERS: Final = ("status", "limit", "offset")


@dataclass(frozen=True, slots=True)
class ListGenerationsRequest:
    organization_id: str
    caller: Caller
    status: JobStatus | None
    limit: int
    offset: int


class GenerationJobList(BaseModel):
    """A page of the caller's jobs, newest first. No total, cursor or has-more flag (the contract's shape): a
    page shorter than ``limit`` is the last."""

    model_config = RESPONSE

    jobs: Annotated[list[GenerationJob], Field(max_length=MAX_LIMIT)]
    limit: int = Field(ge=1, le=MAX_LIMIT)
    offset: int = Field(ge=0, le=MAX_OFFSET)


def parse_request(event: Mapping[str, Any]) -> ListGenerationsRequest:
    """Caller, organization (format, then membership), then the query: each failure a clear 400."""
    caller = caller_of(event)
    organization_id = member_organization(event, caller)
    query = _query(event)
    status = query.get("status")
    if status is not None and status not in STATUSES:
        raise RequestValidationError("status", f"must be one of {', '.join(STATUSES)}", location="query")
    limit = _bounded_integer(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _bounded_integer(query, "offset", 0, 0, MAX_OFFSET)
    return ListGenerationsRequest(organization_id, caller, cast("JobStatus | None", status), limit, offset)


def _query(event: Mapping[str, Any]) -> dict[str, str]:
    """The query parameters, each given at most once; unknown ones are refused rather than silently ignored."""
    found: dict[str, str] = {}
    for name, values in mapping(event.get("multiValueQueryStringParameters")).items():
        if name not in QUERY_PARAMETERS:  # named without echoing it: it is the caller's text
            raise RequestValidationError("query", f"takes only {', '.join(QUERY_PARAMETERS)}", location="query")
        if not isinstance(values, list) or len(values) != 1 or not isinstance(values[0], str):
            raise RequestValidationError(name, "must be given once", location="query")
        found[name] = values[0]
    return found


def _bounded_integer(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 6) or not low <= int(text) <= high:
        raise RequestValidationError(name, f"must be a whole number from {low} to {high}", location="query")
    return int(text)


def list_generations(
    request: ListGenerationsRequest, settings: GenerationSettings, context: LambdaContext
) -> tuple[ListGenerationsRequest, list[StoredJobSummary]]:
    """A page of the caller's jobs: ``jobs_by_created``, or ``jobs_by_status`` with a status filter."""
    logger.append_keys(organization_id=request.organization_id)
    jobs = JobRepository(dynamodb_client(), settings.jobs_table_name).page(
        request.organization_id, request.caller.user_id, request.status, request.limit, request.offset
    )
    return request, jobs


def answer(result: tuple[ListGenerationsRequest, list[StoredJobSummary]], settings: GenerationSettings) -> Answer:
    request, jobs = result
    metrics.add_metric(name="GenerationJobsListed", unit=MetricUnit.Count, value=len(jobs))
    logger.debug("Generation jobs listed", extra={"count": len(jobs), "status": request.status})
    return Answer(
        200, GenerationJobList(jobs=[list_view(job) for job in jobs], limit=request.limit, offset=request.offset)
    )


OPERATION = Operation(
    operation_id="listGenerations",
    method="get",
    path="/v1/music/{organization_id}/generations",
    tag="Generations",
    summary="List music generation jobs",
    description=(
        "The caller's generation jobs in the organization, newest first (by created_at, then id), optionally "
        "of one status, one page at a time: limit jobs from offset. There is no total, cursor or has-more "
        "flag: a page shorter than limit is the last. The list never mints URLs: playback_url, "
        f"playback_url_expires_at and track are always null; get one job for them. offset is capped at "
        f"{MAX_OFFSET} (a deeper page costs a read of every job before it): beyond it, narrow the list with "
        "status. Only the caller's own jobs, whatever the parameters; the list is eventually consistent (a "
        "job created or changed a moment ago may show a moment later)."
    ),
    parameters=(ORGANIZATION_ID,),
    query=(
        QueryParameter("status", {"type": "string", "enum": list(STATUSES)}, "Only jobs in this status."),
        QueryParameter(
            "limit",
            {"type": "integer", "format": "int32", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            "Jobs per page.",
        ),
        QueryParameter(
            "offset",
            {"type": "integer", "format": "int32", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
            "Jobs to skip, newest first.",
        ),
    ),
    success_status="200",
    success_model=GenerationJobList,
    success_description="A page of the caller's jobs, newest first, without URLs or tracks.",
    errors=(
        FunctionError(
            RequestValidationError("offset", f"must be a whole number from 0 to {MAX_OFFSET}", location="query"),
            "a status, limit or offset out of its bounds, a repeated or unknown query parameter, or (invoked "
            "without the gateway) a malformed organization_id; details.field and details.reason say which.",
        ),
        *caller_errors(),
        unexpected(),
        FunctionError(ServiceUnavailableError(), "the job store is throttled or unreachable."),
    ),
    examples="list-generations.yaml",
)


lambda_handler = route(settings=generation_settings, parse=parse_request, operation=list_generations, answer=answer)
