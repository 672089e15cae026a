"""One delivery attempt against a real loopback receiver: what a live stage refuses (it never connects), what a
redirect or a stalled receiver leads to, and that every attempt resolves the host again."""

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from music_admin.webhook_secrets import WebhookSecrets
from music_api.webhooks.delivery import Deliverer, handle_batch
from music_api.webhooks.events import WebhookMessage, event_id
from music_api.webhooks.retry import RetryPolicy
from music_api.webhooks.settings import DeliverySettings
from music_api.webhooks.store import WebhookStore
from music_local.emulator import LocalAws
from music_local.queues import sqs_event
from tests.helpers.scripted_server import Answer, ScriptedServer
from tests.helpers.seed import ALICE, ORG
from tests.helpers.webhooks import verified

HOOK = "/hook"
LIVE = DeliverySettings.model_validate(
    {
        "API_KEY_ENVIRONMENT": "live",
        "AUTH_TABLE_NAME": "t-a",
        "WEBHOOK_QUEUE_URL": "q",
        "WEBHOOK_DEAD_LETTER_QUEUE_URL": "d",
    }
)
LOCAL = LIVE.model_copy(update={"api_key_environment": "test", "webhook_loopback_allowed": True})


@pytest.fixture
def receiver() -> Iterator[ScriptedServer]:
    with ScriptedServer().running() as server:
        server.script(HOOK, Answer(204))
        yield server


@pytest.fixture
def secret(aws: LocalAws) -> str:
    return WebhookSecrets(aws.dynamodb, aws.auth_table).create_secret(ORG)


def message(url: str) -> WebhookMessage:
    return WebhookMessage(
        id=event_id(ORG, ALICE, "mgen_0000000000000001", "failed"),
        type="generation.failed",
        organization_id=ORG,
        job_id="mgen_0000000000000001",
        url=url,
        body='{"type":"generation.failed","timestamp":"2026-06-28T10:30:00Z","data":{}}',
    )


def deliverer(aws: LocalAws, settings: DeliverySettings, resolve_to: str = "127.0.0.1", **options: float) -> Deliverer:
    return Deliverer(
        WebhookStore(aws.dynamodb, aws.auth_table),
        settings.url_policy(),
        RetryPolicy(base_seconds=1),
        resolver=lambda host, port: [resolve_to],
        **options,
    )


def test_the_local_policy_delivers_to_the_loopback_receiver(
    aws: LocalAws, receiver: ScriptedServer, secret: str
) -> None:
    outcome = deliverer(aws, LOCAL).attempt(message(receiver.url + HOOK), attempt=1, age_seconds=0)

    assert outcome.result == "delivered"
    (request,) = receiver.requests_to(HOOK)
    assert verified(request, secret)["type"] == "generation.failed"


@pytest.mark.parametrize(
    ("url_of", "resolve_to", "result", "reason"),
    [
        # The receiver's own address, as the URL gives it: refused outright, never retried.
        (lambda port: f"https://127.0.0.1:{port}{HOOK}", "127.0.0.1", "dead_lettered", "loopback"),
        (lambda port: f"http://127.0.0.1:{port}{HOOK}", "127.0.0.1", "dead_lettered", "must use https"),
        (lambda port: f"https://localhost:{port}{HOOK}", "127.0.0.1", "dead_lettered", "loopback"),
        # A public-looking name whose DNS answer is the receiver, or the metadata service: refused at send time,
        # and retried (the answer may change), never connected.
        (lambda port: f"https://hooks.example.com:{port}{HOOK}", "127.0.0.1", "retry", "loopback"),
        (lambda port: f"https://hooks.example.com:{port}{HOOK}", "::ffff:127.0.0.1", "retry", "loopback"),
        (lambda port: f"https://hooks.example.com:{port}{HOOK}", "169.254.169.254", "retry", "link-local"),
        (lambda port: f"https://hooks.example.com:{port}{HOOK}", "10.0.0.7", "retry", "private"),
    ],
)
def test_a_live_stage_never_connects_to_a_forbidden_address(  # noqa: PLR0917 - fixtures and one case
    aws: LocalAws, receiver: ScriptedServer, secret: str, url_of: object, resolve_to: str, result: str, reason: str
) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    outcome = deliverer(aws, LIVE, resolve_to).attempt(message(url_of(port)), attempt=1, age_seconds=0)  # type: ignore[operator]

    assert (outcome.result, reason in outcome.reason) == (result, True)
    assert receiver.received == []


def test_a_live_stage_cannot_be_configured_to_allow_loopback() -> None:
    with pytest.raises(ValidationError, match="test stage only"):
        LIVE.model_validate(
            {
                "API_KEY_ENVIRONMENT": "live",
                "WEBHOOK_LOOPBACK_ALLOWED": "true",
                "AUTH_TABLE_NAME": "t-a",
                "WEBHOOK_QUEUE_URL": "q",
                "WEBHOOK_DEAD_LETTER_QUEUE_URL": "d",
            }
        )


def test_a_redirect_is_an_answer_to_retry_never_followed(aws: LocalAws, receiver: ScriptedServer, secret: str) -> None:
    receiver.script(HOOK, Answer(307, headers={"Location": "http://169.254.169.254/latest/meta-data/"}))

    outcome = deliverer(aws, LOCAL).attempt(message(receiver.url + HOOK), attempt=1, age_seconds=0)

    assert (outcome.result, outcome.reason) == ("retry", "307")
    assert 1 <= outcome.delay_seconds <= 1
    assert len(receiver.received) == 1


def test_a_receiver_that_does_not_answer_in_time_is_retried(
    aws: LocalAws, receiver: ScriptedServer, secret: str
) -> None:
    receiver.script(HOOK, Answer(stall=True))

    outcome = deliverer(aws, LOCAL, timeout_seconds=0.5).attempt(message(receiver.url + HOOK), 1, 0)

    assert (outcome.result, outcome.reason) == ("retry", "timeout")


def test_the_host_is_resolved_again_at_every_attempt(aws: LocalAws, receiver: ScriptedServer, secret: str) -> None:
    answers = iter(["127.0.0.1", "169.254.169.254"])
    looked_up: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return [next(answers)]

    delivering = Deliverer(
        WebhookStore(aws.dynamodb, aws.auth_table), LOCAL.url_policy(), RetryPolicy(), resolver=resolver
    )
    url = receiver.url.replace("127.0.0.1", "receiver.test") + HOOK
    assert delivering.attempt(message(url), 1, 0).result == "delivered"
    second = delivering.attempt(message(url), 2, 10)
    assert (second.result, "link-local" in second.reason) == ("retry", True)
    assert looked_up == ["receiver.test", "receiver.test"]
    assert receiver.requests_to(HOOK)[0].headers["Host"] == receiver.url.replace("http://127.0.0.1", "receiver.test")


def test_past_the_window_an_event_is_dead_lettered(aws: LocalAws, receiver: ScriptedServer, secret: str) -> None:
    receiver.script(HOOK, Answer(503))

    outcome = deliverer(aws, LOCAL).attempt(message(receiver.url + HOOK), attempt=20, age_seconds=86399)

    assert outcome.result == "dead_lettered"
    assert "retry window over after 20 attempts (503)" in outcome.reason


def test_without_a_signing_secret_nothing_is_sent(aws: LocalAws, receiver: ScriptedServer) -> None:
    outcome = deliverer(aws, LOCAL).attempt(message(receiver.url + HOOK), 1, 0)

    assert (outcome.result, outcome.reason) == ("dead_lettered", "no signing secret")
    assert receiver.received == []


def test_a_failing_store_or_queue_call_fails_its_message_only(aws: LocalAws, receiver: ScriptedServer) -> None:
    """The auth table out of reach is a retry of that message; a visibility change SQS refuses leaves the message
    to come back on its own. Neither fails the batch, whose other messages would be delivered again."""
    queue = aws.queue_urls["WebhookQueue"]
    aws.sqs.send_message(QueueUrl=queue, MessageBody=message(receiver.url + HOOK).model_dump_json())
    received = aws.sqs.receive_message(QueueUrl=queue, MessageSystemAttributeNames=["All"])["Messages"]
    event = sqs_event(
        [*received, received[0] | {"MessageId": "m-2", "ReceiptHandle": "not-a-receipt"}],
        "arn:aws:sqs:us-east-1:123456789012:q",
    )
    unreachable = Deliverer(WebhookStore(aws.dynamodb, "no-such-table"), LOCAL.url_policy(), RetryPolicy())

    answer = handle_batch(event, unreachable, aws.sqs, queue, aws.queue_urls["WebhookDeadLetterQueue"])

    assert answer == {"batchItemFailures": [{"itemIdentifier": received[0]["MessageId"]}, {"itemIdentifier": "m-2"}]}
    assert receiver.received == []
