"""Webhook signatures and the retry schedule. Signatures are verified by the Standard Webhooks library from PyPI,
never by the project's own code."""

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from music_api.webhooks.retry import RetryPolicy
from music_api.webhooks.signing import InvalidSecretError, new_secret, secret_key, signature_header

BODY = b'{"type":"generation.succeeded","timestamp":"2026-06-28T10:30:00Z","data":{}}'


def headers(message_id: str, timestamp: int, signature: str) -> dict[str, str]:
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def test_a_signature_verifies_with_the_standard_webhooks_library() -> None:
    secret = new_secret()
    now = int(datetime.now(UTC).timestamp())
    signature = signature_header([secret], "evt_1", now, BODY)
    assert signature.startswith("v1,")
    assert Webhook(secret).verify(BODY, headers("evt_1", now, signature)) is not None


def test_during_a_rotation_either_secret_verifies() -> None:
    current, previous = new_secret(), new_secret()
    now = int(datetime.now(UTC).timestamp())
    signature = signature_header([current, previous], "evt_2", now, BODY)
    assert len(signature.split(" ")) == 2
    for secret in (current, previous):
        Webhook(secret).verify(BODY, headers("evt_2", now, signature))
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers("evt_2", now, signature))


def test_a_changed_body_id_or_timestamp_does_not_verify() -> None:
    secret = new_secret()
    now = int(datetime.now(UTC).timestamp())
    signature = signature_header([secret], "evt_3", now, BODY)
    for body, message_id, timestamp in ((BODY + b" ", "evt_3", now), (BODY, "evt_4", now), (BODY, "evt_3", now + 1)):
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body, headers(message_id, timestamp, signature))


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_!!!", "sk_abc", "whsec_YWJj"])
def test_malformed_secrets_are_refused(secret: str) -> None:
    with pytest.raises(InvalidSecretError):
        secret_key(secret)


def test_the_default_schedule_spans_a_day_and_stays_under_the_redrive_limit() -> None:
    """The numbers docs/architecture.md gives: about 20 attempts, the last starting within 24 hours."""
    policy = RetryPolicy()
    waits = policy.nominal_schedule()
    assert waits[:4] == [10, 20, 40, 80]
    assert max(waits) == 3 * 3600
    assert sum(waits) <= 24 * 3600
    assert 15 <= len(waits) + 1 <= 25  # attempts, the first included
    # With jitter each wait is at least half its nominal one: at most twice as many attempts, under the 60 of
    # the queue's redrive policy (template.yaml), which only a crashing function reaches.
    assert 2 * (len(waits) + 1) < 60


@given(st.integers(min_value=1, max_value=60), st.integers(min_value=0, max_value=2**32))
def test_a_wait_is_between_half_and_all_of_its_nominal_delay(attempt: int, seed: int) -> None:
    policy = RetryPolicy()
    nominal = policy.nominal_delay(attempt)
    jitter = random.Random(seed)  # noqa: S311 - jitter, not a secret
    assert nominal / 2 <= policy.delay(attempt, jitter) <= nominal + 1


def test_no_attempt_is_scheduled_past_the_window() -> None:
    policy = RetryPolicy(base_seconds=10, max_delay_seconds=3600, max_age_seconds=86400)
    assert policy.next_delay(3, age_seconds=86400 - 5, rng=random.Random(1)) is None  # noqa: S311
    assert policy.next_delay(1, age_seconds=0, rng=random.Random(1)) in range(5, 11)  # noqa: S311
