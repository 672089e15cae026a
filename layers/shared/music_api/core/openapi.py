"""The OpenAPI operation a route declares beside its code: plain data (texts, the errors it can answer, its models),
which scripts/generate_openapi.py renders into docs/openapi.yaml. Nothing here runs on a request; building these few
immutable objects at import is all a cold start pays. NamedTuples, not dataclasses: a frozen dataclass costs about
seven times as much to define (580 against 80 µs each here), and five of them were most of this module's import.
"""

import re
from typing import Any, NamedTuple

from pydantic import BaseModel

from music_api.core.errors import (
    ApiError,
    AuthenticationRequiredError,
    InternalError,
    OrganizationAccessDeniedError,
    RequestValidationError,
    ServiceUnavailableError,
)
from music_api.core.ids import (
    JOB_ID_MAX_LENGTH,
    JOB_ID_PATTERN,
    JOB_ID_RULE,
    ORGANIZATION_ID_MAX_LENGTH,
    ORGANIZATION_ID_PATTERN,
    ORGANIZATION_ID_RULE,
    TRACK_ID_MAX_LENGTH,
    TRACK_ID_PATTERN,
    TRACK_ID_RULE,
)


class PathParameter(NamedTuple):
    name: str
    pattern: re.Pattern[str]
    max_length: int
    rule: str
    description: str
    example: str


class QueryParameter(NamedTuple):
    """An optional query parameter; its schema holds the bounds the function enforces."""

    name: str
    schema: dict[str, Any]
    description: str


class HeaderParameter(NamedTuple):
    """An optional request header the function reads; its schema holds the rule the function enforces."""

    name: str
    schema: dict[str, Any]
    description: str
    example: str


class FunctionError(NamedTuple):
    """An error the route's function answers with, built as the function raises it (texts from the catalogue)."""

    error: ApiError
    when: str


class Operation(NamedTuple):
    """One route's operation. Gateway-made errors (GATEWAY_RESPONSES) are added to every route by the renderer."""

    operation_id: str
    method: str
    path: str
    tag: str
    summary: str
    description: str
    parameters: tuple[PathParameter, ...]
    success_status: str
    success_model: type[BaseModel]
    success_description: str
    errors: tuple[FunctionError, ...]
    examples: str  # file name under docs/examples/
    # Headers of the success response beyond the common ones (names of components.headers).
    success_headers: tuple[str, ...] = ()
    # The JSON body's model (validation-mode schema, in components); its examples under `request:` in the file.
    request_model: type[BaseModel] | None = None
    query: tuple[QueryParameter, ...] = ()
    request_headers: tuple[HeaderParameter, ...] = ()


ORGANIZATION_ID = PathParameter(
    name="organization_id",
    pattern=ORGANIZATION_ID_PATTERN,
    max_length=ORGANIZATION_ID_MAX_LENGTH,
    rule=ORGANIZATION_ID_RULE,
    description="The organization the resource is scoped to. The caller must belong to it.",
    example="org_abc123",
)
JOB_ID = PathParameter(
    name="job_id",
    pattern=JOB_ID_PATTERN,
    max_length=JOB_ID_MAX_LENGTH,
    rule=JOB_ID_RULE,
    description="Id of the generation job.",
    example="mgen_2f8b1c4e9a7d",
)
TRACK_ID = PathParameter(
    name="track_id",
    pattern=TRACK_ID_PATTERN,
    max_length=TRACK_ID_MAX_LENGTH,
    rule=TRACK_ID_RULE,
    description="Id of the track (a succeeded job's result_track_id).",
    example="mtrack_7c1a9e2f4b8d",
)


def caller_errors() -> tuple[FunctionError, ...]:
    """What every route of the family answers when it reads the caller (music_api.core.caller); new instances
    each time, so that YAML never aliases one route's example into another's."""
    return (
        FunctionError(
            AuthenticationRequiredError(),
            "the function was invoked without the authorizer's identity (never behind the gateway).",
        ),
        FunctionError(
            OrganizationAccessDeniedError(),
            "the function checks membership again: the organization is not one of the caller's.",
        ),
    )


# More errors several routes answer alike (built afresh for each: the document must not share objects).
def malformed_job_id() -> FunctionError:
    return FunctionError(
        RequestValidationError("job_id", JOB_ID_RULE),
        "a malformed job_id (or, when invoked without the gateway, organization_id); details.field and "
        "details.reason name the parameter and its rule.",
    )


def unexpected() -> FunctionError:
    return FunctionError(
        InternalError(),
        "anything unexpected (a corrupt stored job, invalid settings, a non-retryable store error); the "
        "cause is only in the logs.",
    )


def store_or_signer_unavailable() -> FunctionError:
    return FunctionError(
        ServiceUnavailableError(),
        "the job store or the signing credentials are throttled or unreachable.",
    )
