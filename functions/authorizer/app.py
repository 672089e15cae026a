"""Lambda entry point of the REQUEST authorizer on X-API-Key: Powertools wiring only."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.access.handler import authorize
from music_api.core.observability import logger, metrics


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(log_event=False, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return authorize(event, context)
