"""The incoming request, read from an API Gateway REST (v1) proxy event (the caller: music_api.core.caller)."""

from dataclasses import dataclass

from music_api.core.caller import Caller, owned_resource
from music_api.core.ids import JOB_ID_RULE, is_job_id


@dataclass(frozen=True, slots=True)
class GetGenerationRequest:
    organization_id: str
    job_id: str
    caller: Caller


def parse_request(event: object) -> GetGenerationRequest:
    """Authenticated caller, then well-formed path, then membership: each failure has its own status."""
    caller, organization_id, job_id = owned_resource(event, "job_id", is_job_id, JOB_ID_RULE)
    return GetGenerationRequest(organization_id=organization_id, job_id=job_id, caller=caller)
