"""Lambda entry point for the generation worker (SQS event source, partial batch responses): Powertools wiring only."""

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.observability import logger, metrics
from music_api.worker.handler import handle_batch


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(log_event=False, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return handle_batch(event, context)
