"""The incoming request, read from an API Gateway REST (v1) proxy event (the caller: music_api.core.caller)."""

from dataclasses import dataclass

from music_api.core.caller import Caller, owned_resource
from music_api.core.ids import TRACK_ID_RULE, is_track_id


@dataclass(frozen=True, slots=True)
class GetTrackRequest:
    organization_id: str
    track_id: str
    caller: Caller


def parse_request(event: object) -> GetTrackRequest:
    """Authenticated caller, then well-formed path, then membership, in GET generation's order."""
    caller, organization_id, track_id = owned_resource(event, "track_id", is_track_id, TRACK_ID_RULE)
    return GetTrackRequest(organization_id=organization_id, track_id=track_id, caller=caller)
