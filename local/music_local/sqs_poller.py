"""SQS event sources, locally (a minimal poller): each function with an ``SQS`` event in template.yaml is invoked
with batches of its queue's messages, received with the function's own role as Lambda's poller receives them.

After the invocation, the messages it handled are deleted: all of them when it returns, none when it raises,
all but its ``batchItemFailures`` when the event reports them (``ReportBatchItemFailures``). A message not
deleted comes back when its visibility timeout ends (the function may have changed it: the webhook retries).
"""

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from music_local.background import EventSourceThreads
from music_local.emulator import ACCOUNT_ID, REGION, LocalAws
from music_local.gateway import LocalFunction
from music_local.template import Template, UnsupportedTemplateError

WAIT_SECONDS: Final = 1  # the long poll of each ReceiveMessage: short, so that stop() returns soon


@dataclass(frozen=True)
class QueueSource:
    function: str  # logical id
    queue: str  # the queue's logical id
    batch_size: int
    reports_item_failures: bool


def queue_sources(template: Template) -> list[QueueSource]:
    sources = []
    for function in template.resources_of_type("AWS::Serverless::Function"):
        for event in template.resource(function)["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            properties = event["Properties"]
            queue, _, attribute = str(properties["Queue"].get("Fn::GetAtt", "")).partition(".")
            if attribute != "Arn":
                raise UnsupportedTemplateError(f"{function}: only a queue's Arn, not {properties['Queue']}")
            sources.append(
                QueueSource(
                    function,
                    queue,
                    int(properties.get("BatchSize", 10)),
                    "ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
                )
            )
    return sources


def lambda_event(messages: Sequence[Mapping[str, Any]], queue_name: str) -> dict[str, Any]:
    """ReceiveMessage's messages as Lambda's SQS event carries them."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": dict(message.get("MessageAttributes", {})),
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue_name}",
                "awsRegion": REGION,
            }
            for message in messages
        ]
    }


class QueuePoller(EventSourceThreads[QueueSource]):
    """One background thread per queue source; ``stop`` waits for an invocation under way."""

    def __init__(self, sources: Sequence[QueueSource], functions: Mapping[str, LocalFunction], aws: LocalAws) -> None:
        super().__init__(sources, functions)
        self._aws = aws

    def _run(self, source: QueueSource, function: LocalFunction) -> None:
        sqs = self._aws.client("sqs", self._aws.function_credentials[source.function])
        url = self._aws.queue_urls[source.queue]
        while not self._stopping.is_set():
            try:
                messages = sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=min(source.batch_size, 10),
                    WaitTimeSeconds=WAIT_SECONDS,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if not messages:
                    continue
                handled = self._invoke(source, function, messages)
                for message in messages:
                    if message["MessageId"] in handled:
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            except Exception as error:  # noqa: BLE001 - Lambda's poller keeps polling too
                print(f"sqs: {source.function} poll failed ({type(error).__name__})", file=sys.stderr, flush=True)
                self._stopping.wait(1)

    def _invoke(self, source: QueueSource, function: LocalFunction, messages: list[dict[str, Any]]) -> set[str]:
        """The ids of the messages the invocation handled."""
        try:
            result = function.invoke(lambda_event(messages, self._aws.queue_names[source.queue]))
        except Exception as error:  # noqa: BLE001 - Lambda would log it; the batch comes back after its timeout
            print(f"sqs: {source.function} failed ({type(error).__name__})", file=sys.stderr, flush=True)
            return set()
        ids = {message["MessageId"] for message in messages}
        if source.reports_item_failures and isinstance(result, Mapping):
            ids -= {str(failure.get("itemIdentifier")) for failure in result.get("batchItemFailures", [])}
        return ids
