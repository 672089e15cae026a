"""The API-key item as stored in the auth table (docs/data-model.md): what the authorizer reads."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from music_api.authorizer.keys import KEY_ID_PATTERN
from music_api.core.ids import ORGANIZATION_ID_PATTERN, USER_ID_PATTERN, anchored
from music_api.core.stored import STORED_ITEM, StoredTimestamp

KeyStatus = Literal["active", "revoked"]


class StoredApiKey(BaseModel):
    model_config = STORED_ITEM

    key_id: Annotated[str, Field(pattern=anchored(KEY_ID_PATTERN))]
    digest: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    user_id: Annotated[str, Field(pattern=anchored(USER_ID_PATTERN))]
    environment: Literal["live", "test"]
    status: KeyStatus
    hint: Annotated[str, Field(max_length=32)]
    created_at: StoredTimestamp
    expires_at: StoredTimestamp | None = None
    revoked_at: StoredTimestamp | None = None
    # A copy of the user's memberships, kept current by every membership change: the authorizer reads only
    # this item.
    organization_ids: Annotated[
        list[Annotated[str, Field(pattern=anchored(ORGANIZATION_ID_PATTERN))]], Field(max_length=100)
    ] = []
    # The API Gateway API key that meters this key in its usage plan; the authorizer returns its value as
    # usageIdentifierKey. Not the customer's secret (no client can present it), yet never logged or shown.
    gateway_key_id: Annotated[str, Field(pattern=r"^[a-z0-9]{10}$")]
    gateway_key_value: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{20,128}$", repr=False)]

    def is_usable_at(self, moment: datetime) -> bool:
        """Active and not expired: a revoked or expired key is refused however recently it worked."""
        if self.status != "active" or self.revoked_at is not None:
            return False
        return self.expires_at is None or moment < self.expires_at
