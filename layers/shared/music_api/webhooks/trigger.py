"""The jobs table's stream in, one queued delivery message per terminal transition of a job with a webhook out.

Nothing here talks to a receiver: the stream's batch only becomes messages, so a slow receiver never holds up
the stream. A send that fails raises: Lambda retries the batch (bisecting it), and a batch that still fails goes
to the on-failure destination (docs/operations.md#webhooks), so no committed transition is silently lost.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.aws import sqs_client
from music_api.core.observability import entry_point, logger, metrics
from music_api.webhooks.events import WebhookMessage, transition_message
from music_api.webhooks.settings import trigger_settings


class QueueClient(Protocol):
    def send_message(self, *, QueueUrl: str, MessageBody: str) -> Mapping[str, Any]: ...  # noqa: N803 - boto3's


def enqueue(queue: QueueClient, queue_url: str, messages: Sequence[WebhookMessage]) -> None:
    """One SendMessage per event (IAM's sqs:SendMessage, which moto checks as AWS does; the batch form it checks
    as an action of its own). A failure escapes: the stream batch is retried, and events already sent are sent
    again under the same id."""
    for message in messages:
        queue.send_message(QueueUrl=queue_url, MessageBody=message.model_dump_json())


def handle_stream(
    event: Mapping[str, Any], context: LambdaContext, queue: QueueClient, queue_url: str
) -> dict[str, int]:
    records = event.get("Records") or []
    messages = [message for record in records if (message := transition_message(record)) is not None]
    enqueue(queue, queue_url, messages)
    for message in messages:
        logger.info(
            "Webhook event queued", extra={"event_id": message.id, "job_id": message.job_id, "type": message.type}
        )
    metrics.add_metric(name="WebhookEventQueued", unit=MetricUnit.Count, value=len(messages))
    return {"records": len(records), "events": len(messages)}


@entry_point
def lambda_handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, int]:
    return handle_stream(event, context, sqs_client(), trigger_settings().webhook_queue_url)
