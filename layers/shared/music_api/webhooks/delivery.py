"""One delivery attempt per queued message, and what follows from the receiver's answer.

2xx within the timeout: delivered. 410: the endpoint is recorded as gone and never tried again. Anything else
(another status, a redirect, a timeout, a refused or unresolvable address): the message waits for its next
attempt (ChangeMessageVisibility with the retry policy's delay) and is reported as this batch's failure, so SQS
hands it back then. Past the retry window, or never deliverable (no signing secret, a URL the stage refuses
outright), it is moved to the dead-letter queue and counted.
"""

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from music_api.core.aws import dynamodb_client, sqs_client
from music_api.core.errors import ApiError
from music_api.core.observability import entry_point, logger, metrics
from music_api.webhooks.events import WebhookMessage
from music_api.webhooks.retry import RetryPolicy
from music_api.webhooks.sender import Answer, post
from music_api.webhooks.settings import delivery_settings
from music_api.webhooks.signing import signature_header
from music_api.webhooks.store import WebhookStore
from music_api.webhooks.url import (
    Resolver,
    UrlPolicy,
    WebhookTarget,
    WebhookUrlError,
    check_url,
    system_resolver,
    vetted_addresses,
)

type Result = Literal["delivered", "gone", "skipped_gone", "retry", "dead_lettered"]


class DeliveryQueueClient(Protocol):
    def change_message_visibility(self, *, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int) -> Any: ...  # noqa: N803
    def send_message(self, *, QueueUrl: str, MessageBody: str, MessageAttributes: Mapping[str, Any]) -> Any: ...  # noqa: N803


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Result
    reason: str = ""  # for a retry or a dead letter: a status, an error type or a rule; never the URL
    delay_seconds: int = 0


@dataclass(frozen=True, slots=True)
class Deliverer:
    store: WebhookStore
    policy: UrlPolicy
    retry: RetryPolicy
    timeout_seconds: float = 10
    resolver: Resolver = system_resolver

    def attempt(self, message: WebhookMessage, attempt: int, age_seconds: float) -> Outcome:
        """Everything one attempt does before the queue is told: checks, the POST, the 410 record."""
        try:
            target = check_url(message.url, self.policy)
        except WebhookUrlError as refused:  # the URL itself breaks this stage's rules: no retry can help
            return Outcome("dead_lettered", f"url refused: {refused}")
        if self.store.is_gone(message.organization_id, message.url):
            return Outcome("skipped_gone")
        signing_secrets = self.store.signing_secrets(message.organization_id)
        if not signing_secrets:
            return Outcome("dead_lettered", "no signing secret")
        return self.judge(message, self._send(message, target, signing_secrets), attempt, age_seconds)

    def judge(self, message: WebhookMessage, answer: Answer, attempt: int, age_seconds: float) -> Outcome:
        """What the receiver's answer means: delivered, gone (recorded), or another attempt if the window allows."""
        if answer.acknowledged:
            return Outcome("delivered", str(answer.status))
        if answer.gone:
            self.store.mark_gone(message.organization_id, message.url, message.job_id)
            return Outcome("gone", "410")
        reason = str(answer.status) if answer.status is not None else str(answer.error)
        delay = self.retry.next_delay(attempt, age_seconds)
        if delay is None:
            return Outcome("dead_lettered", f"retry window over after {attempt} attempts ({reason})")
        return Outcome("retry", reason, delay)

    def _send(self, message: WebhookMessage, target: WebhookTarget, signing_secrets: list[str]) -> Answer:
        """The signed POST to an address vetted now (DNS may have changed since the last attempt)."""
        try:
            addresses = vetted_addresses(target, self.policy, self.resolver)
        except WebhookUrlError as refused:
            return Answer(None, f"address refused: {refused}")
        except OSError as unresolved:
            return Answer(None, f"unresolved: {type(unresolved).__name__}")
        timestamp = int(time.time())
        body = message.body.encode()
        headers = {
            "webhook-id": message.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(signing_secrets, message.id, timestamp, body),
        }
        return post(target, addresses[0], headers, body, timeout_seconds=self.timeout_seconds)


def handle_batch(
    event: Mapping[str, Any],
    deliverer: Deliverer,
    queue: DeliveryQueueClient,
    queue_url: str,
    dead_letter_queue_url: str,
) -> dict[str, list[dict[str, str]]]:
    """The attempts of one batch side by side (each bounded by the timeout), then the queue told about each."""
    records: Sequence[Mapping[str, Any]] = event.get("Records") or []
    with ThreadPoolExecutor(max_workers=max(1, len(records))) as pool:
        outcomes = list(pool.map(lambda record: _attempt(deliverer, record), records))
    failures = []
    for record, outcome in zip(records, outcomes, strict=True):
        logger.info("Webhook delivery attempt", extra=_log_fields(record, outcome))
        metrics.add_metric(
            name=f"WebhookDelivery{outcome.result.title().replace('_', '')}", unit=MetricUnit.Count, value=1
        )
        if not _tell_queue(record, outcome, queue, queue_url, dead_letter_queue_url):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def _tell_queue(
    record: Mapping[str, Any], outcome: Outcome, queue: DeliveryQueueClient, queue_url: str, dead_letter_url: str
) -> bool:
    """Whether the message is done with (deleted by the event source). A retry waits its delay; a dead letter is
    sent on first. A queue call that fails leaves the message to come back after the visibility timeout, so
    nothing is lost and the batch's other messages are not delivered again."""
    try:
        if outcome.result == "retry":
            queue.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=outcome.delay_seconds
            )
            return False
        if outcome.result == "dead_lettered":
            logger.error("Webhook event dead-lettered", extra=_log_fields(record, outcome))
            queue.send_message(
                QueueUrl=dead_letter_url,
                MessageBody=record["body"],
                MessageAttributes={"reason": {"DataType": "String", "StringValue": outcome.reason[:256]}},
            )
    except (BotoCoreError, ClientError) as error:
        logger.warning("Webhook queue call failed", extra={"reason": type(error).__name__, "result": outcome.result})
        return False
    return True


@entry_point
def lambda_handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
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


def _attempt(deliverer: Deliverer, record: Mapping[str, Any]) -> Outcome:
    try:
        message = WebhookMessage.model_validate_json(record["body"])
    except ValidationError:
        return Outcome("dead_lettered", "not a webhook message")
    attributes = record.get("attributes") or {}
    attempt = int(attributes.get("ApproximateReceiveCount", 1))
    sent_at = int(attributes.get("SentTimestamp", time.time() * 1000)) / 1000
    age = time.time() - sent_at
    try:
        return deliverer.attempt(message, attempt, age)
    except ApiError as error:  # the auth table out of reach: this message alone is tried again later
        return deliverer.judge(message, Answer(None, type(error).__name__), attempt, age)


def _log_fields(record: Mapping[str, Any], outcome: Outcome) -> dict[str, Any]:
    attributes = record.get("attributes") or {}
    return {
        "message_id": record.get("messageId"),
        "attempt": attributes.get("ApproximateReceiveCount"),
        "result": outcome.result,
        "reason": outcome.reason,
        "retry_in_seconds": outcome.delay_seconds or None,
    }
