"""Lambda entry point for the dispatch sweeper (EventBridge schedule): Powertools wiring only."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.observability import logger, metrics
from music_api.dispatch.handler import handle_sweep


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(log_event=False, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return handle_sweep(event, context)
