"""The incoming request, read from an API Gateway REST (v1) proxy event (the caller: music_api.core.caller)."""

from collections.abc import Mapping
from dataclasses import dataclass

from music_api.core.caller import Caller, caller_of, path_parameter
from music_api.core.errors import InternalError, OrganizationAccessDeniedError, RequestValidationError
from music_api.core.ids import ORGANIZATION_ID_RULE, TRACK_ID_RULE, is_organization_id, is_track_id


@dataclass(frozen=True, slots=True)
class GetTrackRequest:
    organization_id: str
    track_id: str
    caller: Caller


def parse_request(event: object) -> GetTrackRequest:
    """Authenticated caller, then well-formed path, then membership: each failure has its own status (as GET
    generation orders them)."""
    if not isinstance(event, Mapping):
        raise InternalError("Event is not an API Gateway proxy event")  # a misaddressed direct invocation
    caller = caller_of(event)
    organization_id = path_parameter(event, "organization_id")
    if not is_organization_id(organization_id):
        raise RequestValidationError("organization_id", ORGANIZATION_ID_RULE)
    track_id = path_parameter(event, "track_id")
    if not is_track_id(track_id):
        raise RequestValidationError("track_id", TRACK_ID_RULE)
    if organization_id not in caller.organization_ids:
        raise OrganizationAccessDeniedError()
    return GetTrackRequest(organization_id=organization_id, track_id=track_id, caller=caller)
