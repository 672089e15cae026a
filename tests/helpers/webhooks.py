"""The webhook pipeline on the test's moto server: the jobs table's stream runner and the webhook queue's poller,
invoking the template's trigger and delivery functions (short retry delays), and a receiver's requests checked
with the Standard Webhooks library."""

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from standardwebhooks.webhooks import Webhook

from music_local.emulator import LocalAws
from music_local.gateway import LocalFunction
from music_local.queues import QueueConsumers
from music_local.stack import function_environment
from music_local.streams import StreamRunner, stream_sources
from music_local.template import local_template
from tests.helpers.scripted_server import Received

# Short enough for a test (a retry after about 1 s, then 2 s), the same code path as the day-long default.
FAST_RETRIES = {"WEBHOOK_RETRY_BASE_SECONDS": "1", "WEBHOOK_RETRY_MAX_DELAY_SECONDS": "4"}
PIPELINE = ("WebhookTriggerFunction", "WebhookDeliveryFunction")


@contextmanager
def webhook_pipeline(aws: LocalAws, **delivery_environment: str) -> Iterator[dict[str, LocalFunction]]:
    """The two webhook functions, in execution environments of their own, fed by their event sources."""
    template = local_template()
    functions = {
        name: LocalFunction(
            template,
            name,
            function_environment(template, aws, name, "WARNING")
            | (FAST_RETRIES | delivery_environment if name == "WebhookDeliveryFunction" else {}),
        )
        for name in PIPELINE
    }
    streams = StreamRunner(stream_sources(template), functions, aws, poll_seconds=0.1)
    environments = {name: function.environment for name, function in functions.items()}
    queues = QueueConsumers(template, aws, environments, only={"WebhookDeliveryFunction"})
    streams.start()
    queues.start()
    try:
        yield functions
    finally:
        queues.stop()
        streams.stop()


def wait_for(condition: Callable[[], bool], timeout_seconds: float = 30) -> None:
    """Poll ``condition`` until it holds; fail after the timeout (the pipeline polls, so this cannot be exact)."""
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(0.1)


def verified(request: Received, secret: str) -> dict[str, Any]:
    """The event a request carried, after the Standard Webhooks library verified its signature."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    Webhook(secret).verify(request.body, headers)
    event: dict[str, Any] = json.loads(request.body)
    return event


def queue_empty(aws: LocalAws) -> bool:
    """No webhook message waiting or in flight."""
    attributes = aws.sqs.get_queue_attributes(
        QueueUrl=aws.queue_urls["WebhookQueue"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return bool(attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"})
