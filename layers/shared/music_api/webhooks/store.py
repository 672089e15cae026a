"""Signing secrets and gone endpoints, in the auth table (docs/data-model.md#webhook-items); the operator
CLI creates and rotates the secrets (music_admin.webhook_secrets).

``pk = WEBHOOK#<organization_id>, sk = SECRET``: the organization's ``whsec_`` secret, and during a rotation the
previous one with the moment it stops signing. ``pk = WEBHOOK_GONE#<organization_id>, sk = URL#<sha256>``: an
endpoint that answered 410, never delivered to again. Two partition prefixes, so that the delivery function's
role reads both and writes the second only (``dynamodb:LeadingKeys``): it cannot replace a secret.
"""

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from music_api.core.clock import to_utc_z, utc_now
from music_api.core.dynamodb import consistent_item, store_errors

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STORE = "Webhook store"


def secret_key(organization_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"WEBHOOK#{organization_id}"}, "sk": {"S": "SECRET"}}


def gone_key(organization_id: str, url: str) -> dict[str, dict[str, str]]:
    """Keyed by the URL's digest: the URL itself (its query may hold a receiver's token) is not stored again."""
    digest = hashlib.sha256(url.encode()).hexdigest()
    return {"pk": {"S": f"WEBHOOK_GONE#{organization_id}"}, "sk": {"S": f"URL#{digest}"}}


class WebhookStore:
    def __init__(self, client: "DynamoDBClient", table_name: str, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._client = client
        self._table_name = table_name
        self._clock = clock

    def signing_secrets(self, organization_id: str) -> list[str]:
        """The current secret first, then the previous one while its rotation overlap lasts; empty without one."""
        item = consistent_item(self._client, self._table_name, secret_key(organization_id), STORE)
        if item is None:
            return []
        found = [item["secret"]["S"]]
        previous, until = item.get("previous_secret", {}).get("S"), item.get("previous_until", {}).get("S")
        if previous and until and until > to_utc_z(self._clock()):
            found.append(previous)
        return found

    def is_gone(self, organization_id: str, url: str) -> bool:
        return consistent_item(self._client, self._table_name, gone_key(organization_id, url), STORE) is not None

    def mark_gone(self, organization_id: str, url: str, job_id: str) -> None:
        """Recorded once; a later 410 of the same URL leaves the first record."""
        item: dict[str, Any] = gone_key(organization_id, url) | {
            "gone_at": {"S": to_utc_z(self._clock())},
            "job_id": {"S": job_id},
        }
        with store_errors(STORE):
            self._client.put_item(TableName=self._table_name, Item=item)
