"""The authorizer's one read: the API-key item under the key's SHA-256 digest (docs/data-model.md).

The item carries a copy of its user's organization ids, kept current by the operator's versioned transactions
(admin/music_admin/auth_store.py), so a request needs exactly one strongly consistent GetItem.
"""

import hmac
from typing import TYPE_CHECKING

from pydantic import ValidationError

from music_api.authorizer.models import StoredApiKey
from music_api.core.dynamodb import consistent_item, from_item
from music_api.core.errors import InternalError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STORE = "Auth store"


class CorruptAuthItemError(InternalError):
    """An auth item does not satisfy its model."""


def api_key_key(digest: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"APIKEY#{digest}"}, "sk": {"S": "APIKEY"}}


class ApiKeyStore:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def get_api_key(self, digest: str) -> StoredApiKey | None:
        """The key stored under ``digest``, with its user's organizations; strongly consistent, so a
        revocation or a membership change is seen at once."""
        item = consistent_item(self._client, self._table_name, api_key_key(digest), STORE)
        if item is None:
            return None
        try:
            api_key = StoredApiKey.model_validate(from_item(item))
        except ValidationError as exc:
            raise CorruptAuthItemError("Stored API key item is invalid") from exc
        if not hmac.compare_digest(api_key.digest, digest):
            raise CorruptAuthItemError("API key item does not match its key")
        return api_key
