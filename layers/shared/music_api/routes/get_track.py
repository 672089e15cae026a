"""GET /v1/music/{organization_id}/tracks/{track_id}: a track the caller generated, with freshly signed URLs for its
master and its stems.

The function reads the jobs' settings (the same table, bucket, prefix and URL lifetime as GET) and signs with the
same signer; it never loads the job writer.
"""

from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.aws import dynamodb_client
from music_api.core.caller import Caller, owned_resource
from music_api.core.errors import InternalError, RequestValidationError, ServiceUnavailableError, TrackNotFoundError
from music_api.core.ids import TRACK_ID_RULE, is_track_id
from music_api.core.observability import logger, metrics
from music_api.core.openapi import ORGANIZATION_ID, TRACK_ID, FunctionError, Operation, caller_errors
from music_api.core.route import Answer, route
from music_api.jobs.settings import GenerationSettings, generation_settings
from music_api.jobs.signer import signer_for
from music_api.tracks.models import Track, track_view
from music_api.tracks.store import TrackRepository


@dataclass(frozen=True, slots=True)
class GetTrackRequest:
    organization_id: str
    track_id: str
    caller: Caller


def parse_request(event: object) -> GetTrackRequest:
    """Authenticated caller, then well-formed path, then membership, in GET generation's order."""
    caller, organization_id, track_id = owned_resource(event, "track_id", is_track_id, TRACK_ID_RULE)
    return GetTrackRequest(organization_id=organization_id, track_id=track_id, caller=caller)


def get_track(request: GetTrackRequest, settings: GenerationSettings, context: LambdaContext) -> Track:
    """The caller's track with URLs minted now. A track of another user or organization is not found, by key."""
    logger.append_keys(organization_id=request.organization_id, track_id=request.track_id)
    tracks = TrackRepository(dynamodb_client(), settings.jobs_table_name)
    track = tracks.get(request.organization_id, request.caller.user_id, request.track_id)
    if track is None:
        raise TrackNotFoundError(request.track_id)
    return track_view(track, signer_for(settings))


def answer(track: Track, settings: GenerationSettings) -> Answer:
    metrics.add_metric(name="TrackReturned", unit=MetricUnit.Count, value=1)
    # DEBUG, as GET's per-poll line: errors are logged at INFO and above.
    logger.debug(
        "Track returned",
        extra={"stems": len(track.stem_urls), "playback_url_expires_at": track.playback_url_expires_at},
    )
    return Answer(200, track)


OPERATION = Operation(
    operation_id="getTrack",
    method="get",
    path="/v1/music/{organization_id}/tracks/{track_id}",
    tag="Tracks",
    summary="Get a track",
    description=(
        "A track the caller generated (its job's result_track_id), with freshly minted short-TTL signed URLs "
        "for the master audio and for each stem (stem_urls, by stem name; an empty object when the track has "
        "none). Every URL is minted on each request and works at least until playback_url_expires_at: fetch "
        "the track again for new ones. The track states its licence truthfully: licence_class, and whether "
        "it may be used commercially (commercial_use) and must be attributed (requires_attribution), from "
        "the engine that made it; a worker that did not state them is read as no commercial use, attribution "
        "required. Scoped to the caller's organization and user: another user's or organization's track "
        "answers exactly like a track that does not exist."
    ),
    parameters=(ORGANIZATION_ID, TRACK_ID),
    success_status="200",
    success_model=Track,
    success_description="The track, with a freshly signed URL for its master and one for each stem.",
    errors=(
        FunctionError(
            RequestValidationError("track_id", TRACK_ID_RULE),
            "a malformed track_id (or, when invoked without the gateway, organization_id); details.field and "
            "details.reason name the parameter and its rule.",
        ),
        *caller_errors(),
        FunctionError(
            TrackNotFoundError(TRACK_ID.example),
            "the caller has no track with this id in this organization (details.track_id echoes the id); "
            "another user's or organization's track answers the same.",
        ),
        FunctionError(
            InternalError(),
            "anything unexpected (a corrupt stored track, invalid settings, a non-retryable store error); the "
            "cause is only in the logs.",
        ),
        FunctionError(
            ServiceUnavailableError(), "the track store or the signing credentials are throttled or unreachable."
        ),
    ),
    examples="get-track.yaml",
)


lambda_handler = route(settings=generation_settings, parse=parse_request, operation=get_track, answer=answer)
