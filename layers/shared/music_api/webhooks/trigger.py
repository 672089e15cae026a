"""The jobs table's stream in, one queued delivery message per terminal transition of a job with a webhook out.

Nothing here talks to a receiver: the stream's batch only becomes messages, so a slow receiver never holds up
the stream. A send that fails raises: Lambda retries the batch (bisecting it), and a batch that still fails goes
to the on-failure destination (docs/operations.md#webhooks), so no committed transition is silently lost.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.observability import logger, metrics
from music_api.webhooks.events import WebhookMessage, transition_message

SQS_BATCH = 10  # SendMessageBatch's most entries


class BatchQueueClient(Protocol):
    def send_message_batch(self, *, QueueUrl: str, Entries: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]: ...  # noqa: N803


class WebhookEnqueueError(Exception):
    """Some delivery messages were not queued; the stream batch is retried (its events keep their ids)."""


def enqueue(queue: BatchQueueClient, queue_url: str, messages: Sequence[WebhookMessage]) -> None:
    for start in range(0, len(messages), SQS_BATCH):
        chunk = messages[start : start + SQS_BATCH]
        answer = queue.send_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(index), "MessageBody": message.model_dump_json()} for index, message in enumerate(chunk)
            ],
        )
        failed = answer.get("Failed") or []
        if failed:
            codes = sorted({str(entry.get("Code")) for entry in failed})
            raise WebhookEnqueueError(f"{len(failed)} delivery messages not queued ({', '.join(codes)})")


def handle_stream(
    event: Mapping[str, Any], context: LambdaContext, queue: BatchQueueClient, queue_url: str
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
