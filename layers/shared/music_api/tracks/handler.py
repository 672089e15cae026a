"""GET /v1/music/{organization_id}/tracks/{track_id}: event in, proxy response out, nothing escapes.

The function reads the generations' settings (the same table, bucket, prefix and URL lifetime as GET) and signs
with the same signer; it never loads the job writer or the job GET handler.
"""

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.answers import answered
from music_api.core.aws import dynamodb_client
from music_api.core.http import ProxyResponse, json_response
from music_api.core.observability import logger, metrics
from music_api.generations.settings import generation_settings
from music_api.generations.signer import signer_for
from music_api.tracks.logic import get_track, public_view
from music_api.tracks.request import parse_request
from music_api.tracks.store import TrackRepository


def handle_get_track(event: Mapping[str, Any], context: LambdaContext) -> ProxyResponse:
    return answered(
        event,
        context,
        lambda trace_id: _track_response(event, trace_id),
        unavailable_retry_after=lambda: generation_settings().unavailable_retry_after_seconds,
    )


def _track_response(event: Mapping[str, Any], trace_id: str) -> ProxyResponse:
    settings = generation_settings()
    request = parse_request(event)
    logger.append_keys(organization_id=request.organization_id, track_id=request.track_id)
    track = get_track(request, TrackRepository(dynamodb_client(), settings.jobs_table_name))
    body = public_view(track, signer_for(settings))
    metrics.add_metric(name="TrackReturned", unit=MetricUnit.Count, value=1)
    # DEBUG, as GET's per-poll line: errors are logged at INFO and above.
    logger.debug(
        "Track returned",
        extra={"stems": len(body.stem_urls), "playback_url_expires_at": body.playback_url_expires_at},
    )
    return json_response(200, body.model_dump_json(), trace_id)
