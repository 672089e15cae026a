"""The incoming request, read from an API Gateway REST (v1) proxy event (the caller: music_api.core.caller)."""

from collections.abc import Mapping
from dataclasses import dataclass

from music_api.core.caller import Caller, caller_of, path_parameter
from music_api.core.errors import InternalError, OrganizationAccessDeniedError, RequestValidationError
from music_api.core.ids import JOB_ID_RULE, ORGANIZATION_ID_RULE, is_job_id, is_organization_id


@dataclass(frozen=True, slots=True)
class GetGenerationRequest:
    organization_id: str
    job_id: str
    caller: Caller


def parse_request(event: object) -> GetGenerationRequest:
    """Authenticated caller, then well-formed path, then membership: each failure has its own status."""
    if not isinstance(event, Mapping):
        raise InternalError("Event is not an API Gateway proxy event")  # a misaddressed direct invocation
    caller = caller_of(event)
    organization_id = path_parameter(event, "organization_id")
    if not is_organization_id(organization_id):
        raise RequestValidationError("organization_id", ORGANIZATION_ID_RULE)
    job_id = path_parameter(event, "job_id")
    if not is_job_id(job_id):
        raise RequestValidationError("job_id", JOB_ID_RULE)
    if organization_id not in caller.organization_ids:
        raise OrganizationAccessDeniedError()
    return GetGenerationRequest(organization_id=organization_id, job_id=job_id, caller=caller)
