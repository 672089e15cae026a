"""The incoming request, read from an API Gateway REST (v1) proxy event.

The caller's identity comes only from ``requestContext.authorizer``, which API Gateway fills from the REQUEST
authorizer's context: ``user_id`` and ``organization_ids`` (comma-separated, as context values are strings).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from music_api.core.errors import (
    AuthenticationRequiredError,
    OrganizationAccessDeniedError,
    RequestValidationError,
)
from music_api.core.events import mapping
from music_api.core.ids import JOB_ID_RULE, ORGANIZATION_ID_RULE, is_job_id, is_organization_id, is_user_id


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: str
    organization_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class GetGenerationRequest:
    organization_id: str
    job_id: str
    caller: Caller


def parse_request(event: Mapping[str, Any]) -> GetGenerationRequest:
    """Authenticated caller, then well-formed path, then membership: each failure has its own status."""
    caller = caller_of(event)
    path = mapping(event.get("pathParameters"))
    organization_id = _path_parameter(path, "organization_id")
    if not is_organization_id(organization_id):
        raise RequestValidationError("organization_id", ORGANIZATION_ID_RULE)
    job_id = _path_parameter(path, "job_id")
    if not is_job_id(job_id):
        raise RequestValidationError("job_id", JOB_ID_RULE)
    _require_member(caller, organization_id)
    return GetGenerationRequest(organization_id=organization_id, job_id=job_id, caller=caller)


def organization_of(event: Mapping[str, Any], caller: Caller) -> str:
    """The path's organization, well formed and one of the caller's (for routes with no other path id)."""
    organization_id = _path_parameter(mapping(event.get("pathParameters")), "organization_id")
    if not is_organization_id(organization_id):
        raise RequestValidationError("organization_id", ORGANIZATION_ID_RULE)
    _require_member(caller, organization_id)
    return organization_id


def _require_member(caller: Caller, organization_id: str) -> None:
    if organization_id not in caller.organization_ids:
        raise OrganizationAccessDeniedError()


def caller_of(event: Mapping[str, Any]) -> Caller:
    context = mapping(mapping(event.get("requestContext")).get("authorizer"))
    user_id = context.get("user_id")
    organization_ids = context.get("organization_ids")
    # No identity means the request did not come through the authorizer: fail closed.
    if not isinstance(user_id, str) or not is_user_id(user_id) or not isinstance(organization_ids, str):
        raise AuthenticationRequiredError()
    members = frozenset(org for org in organization_ids.split(",") if is_organization_id(org))
    return Caller(user_id=user_id, organization_ids=members)


def _path_parameter(path: Mapping[str, Any], name: str) -> str:
    value = path.get(name)
    if not isinstance(value, str) or not value:
        raise RequestValidationError(name, "is required")
    return value
