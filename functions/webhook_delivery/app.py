"""Lambda entry point for webhook delivery (the webhook queue's SQS event source): Powertools wiring only."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.aws import dynamodb_client, sqs_client
from music_api.core.observability import logger, metrics
from music_api.webhooks.delivery import Deliverer, handle_batch
from music_api.webhooks.settings import delivery_settings
from music_api.webhooks.store import WebhookStore


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(log_event=False, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    settings = delivery_settings()
    deliverer = Deliverer(
        WebhookStore(dynamodb_client(), settings.auth_table_name),
        settings.url_policy(),
        settings.retry_policy(),
        settings.timeout_seconds,
    )
    return handle_batch(
        event, deliverer, sqs_client(), settings.webhook_queue_url, settings.webhook_dead_letter_queue_url
    )
