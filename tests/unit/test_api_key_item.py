"""When a stored API key is usable (docs/data-model.md, "API-key item"): both halves of the revocation check,
and the exact second of expiry."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from music_api.authorizer.models import StoredApiKey

EXPIRY = datetime(2026, 6, 28, 10, 30, tzinfo=UTC)
ITEM: dict[str, Any] = {
    "key_id": "key_07b504ed80634ade",
    "digest": "0" * 64,
    "user_id": "usr_alice01",
    "environment": "test",
    "status": "active",
    "hint": "frd_test_...32St",
    "created_at": "2026-01-01T00:00:00Z",
    "organization_ids": ["org_abc123"],
    "gateway_key_id": "a1b2c3d4e5",
    "gateway_key_value": "A" * 40,
}


def api_key(**changes: Any) -> StoredApiKey:
    return StoredApiKey.model_validate(ITEM | changes)


def test_an_active_key_without_expiry_or_revocation_is_usable() -> None:
    assert api_key().is_usable_at(EXPIRY)


@pytest.mark.parametrize(
    ("seconds_after_expiry", "usable"),
    [(-1, True), (0, False), (1, False)],
    ids=["a-second-before", "at-the-second", "a-second-after"],
)
def test_a_key_is_refused_from_the_very_second_it_expires(seconds_after_expiry: int, usable: bool) -> None:
    key = api_key(expires_at="2026-06-28T10:30:00Z")

    assert key.is_usable_at(EXPIRY + timedelta(seconds=seconds_after_expiry)) is usable


def test_an_active_key_with_a_revocation_time_is_refused() -> None:
    """A half-applied revocation (status still active, revoked_at set) fails closed: either half refuses."""
    assert not api_key(revoked_at="2026-06-01T00:00:00Z").is_usable_at(EXPIRY)


def test_a_revoked_key_is_refused_even_without_a_revocation_time() -> None:
    assert not api_key(status="revoked").is_usable_at(EXPIRY)
