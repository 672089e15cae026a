"""Who is calling, and which organization the path names: what every route reads before its own work.

The caller's identity comes only from ``requestContext.authorizer``, which API Gateway fills from the REQUEST
authorizer's context: ``user_id`` and ``organization_ids`` (comma-separated, as context values are strings).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from music_api.core.errors import (
    AuthenticationRequiredError,
    InternalError,
    OrganizationAccessDeniedError,
    RequestValidationError,
)
from music_api.core.events import mapping
from music_api.core.ids import JOB_ID_RULE, ORGANIZATION_ID_RULE, is_job_id, is_organization_id, is_user_id


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: str
    organization_ids: frozenset[str]


def caller_of(event: Mapping[str, Any]) -> Caller:
    context = mapping(mapping(event.get("requestContext")).get("authorizer"))
    user_id = context.get("user_id")
    organization_ids = context.get("organization_ids")
    # No identity means the request did not come through the authorizer: fail closed.
    if not isinstance(user_id, str) or not is_user_id(user_id) or not isinstance(organization_ids, str):
        raise AuthenticationRequiredError()
    members = frozenset(org for org in organization_ids.split(",") if is_organization_id(org))
    return Caller(user_id=user_id, organization_ids=members)


def path_parameter(event: Mapping[str, Any], name: str) -> str:
    value = mapping(event.get("pathParameters")).get(name)
    if not isinstance(value, str) or not value:
        raise RequestValidationError(name, "is required")
    return value


def member_organization(event: Mapping[str, Any], caller: Caller) -> str:
    """The path's organization id, well formed (400) and one the caller belongs to (403)."""
    organization_id = path_parameter(event, "organization_id")
    if not is_organization_id(organization_id):
        raise RequestValidationError("organization_id", ORGANIZATION_ID_RULE)
    if organization_id not in caller.organization_ids:
        raise OrganizationAccessDeniedError()
    return organization_id


def owned_resource(event: object, name: str, is_valid: Callable[[str], bool], rule: str) -> tuple[Caller, str, str]:
    """(caller, organization id, the path's ``name``) for a route about one resource of the caller's (a job, a
    track), checked in the order GET defines: an event at all (500), the caller (401), the organization's format
    and the id's (400), then membership (403). Each failure has its own status."""
    if not isinstance(event, Mapping):
        raise InternalError("Event is not an API Gateway proxy event")  # a misaddressed direct invocation
    caller = caller_of(event)
    organization_id = path_parameter(event, "organization_id")
    if not is_organization_id(organization_id):
        raise RequestValidationError("organization_id", ORGANIZATION_ID_RULE)
    resource_id = path_parameter(event, name)
    if not is_valid(resource_id):
        raise RequestValidationError(name, rule)
    if organization_id not in caller.organization_ids:
        raise OrganizationAccessDeniedError()
    return caller, organization_id, resource_id


@dataclass(frozen=True, slots=True)
class JobPath:
    """The request of a route about one of the caller's jobs (GET, cancel): everything it reads is in the path."""

    organization_id: str
    job_id: str
    caller: Caller


def job_path(event: object) -> JobPath:
    """Authenticated caller, then well-formed path, then membership: each failure has its own status."""
    caller, organization_id, job_id = owned_resource(event, "job_id", is_job_id, JOB_ID_RULE)
    return JobPath(organization_id=organization_id, job_id=job_id, caller=caller)
