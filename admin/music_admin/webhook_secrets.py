"""The operator's side of webhook signing secrets: create one per organization, rotate it with an overlap
(music_api.webhooks.store reads them; docs/operations.md#webhooks)."""

from datetime import timedelta
from typing import TYPE_CHECKING

from music_api.core.clock import to_utc_z
from music_api.core.dynamodb import store_errors
from music_api.webhooks.signing import new_secret
from music_api.webhooks.store import STORE, WebhookStore, secret_key

if TYPE_CHECKING:
    pass


class WebhookSecrets(WebhookStore):
    """The reads of the delivery function's store, and the operator's two writes."""

    def create_secret(self, organization_id: str) -> str:
        """The operator's first secret for an organization; an existing one is kept (rotate replaces it)."""
        secret = new_secret()
        with store_errors(STORE):
            self._client.put_item(
                TableName=self._table_name,
                Item=secret_key(organization_id) | {"secret": {"S": secret}, "created_at": {"S": self._now()}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        return secret

    def rotate_secret(self, organization_id: str, overlap: timedelta) -> str:
        """A new current secret; the old one keeps signing (beside it) for ``overlap``, while receivers switch."""
        secret = new_secret()
        with store_errors(STORE):
            self._client.update_item(
                TableName=self._table_name,
                Key=secret_key(organization_id),
                UpdateExpression="SET previous_secret = secret, secret = :secret, previous_until = :until, "
                "rotated_at = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={
                    ":secret": {"S": secret},
                    ":until": {"S": to_utc_z(self._clock() + overlap)},
                    ":now": {"S": self._now()},
                },
            )
        return secret

    def _now(self) -> str:
        return to_utc_z(self._clock())
