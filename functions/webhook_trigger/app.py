"""Lambda entry point for the webhook trigger (the jobs table's DynamoDB stream): Powertools wiring only."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.aws import sqs_client
from music_api.core.observability import logger, metrics
from music_api.webhooks.settings import trigger_settings
from music_api.webhooks.trigger import handle_stream


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(log_event=False, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return handle_stream(event, context, sqs_client(), trigger_settings().webhook_queue_url)
