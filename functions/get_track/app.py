"""Lambda entry point for GET /v1/music/{organization_id}/tracks/{track_id}: Powertools wiring only."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.http import ProxyResponse
from music_api.core.observability import logger, metrics
from music_api.tracks.handler import handle_get_track


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(log_event=False, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> ProxyResponse:
    return handle_get_track(event, context)
