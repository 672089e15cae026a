"""Items only the operator's side reads and writes (docs/data-model.md)."""

from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from music_api.core.ids import ORGANIZATION_ID_PATTERN, USER_ID_PATTERN, anchored
from music_api.core.stored import STORED_ITEM, StoredTimestamp

Role = Literal["owner", "admin", "member"]


class StoredMembership(BaseModel):
    model_config = STORED_ITEM

    user_id: Annotated[str, Field(pattern=anchored(USER_ID_PATTERN))]
    organization_id: Annotated[str, Field(pattern=anchored(ORGANIZATION_ID_PATTERN))]
    role: Role
    created_at: StoredTimestamp


@dataclass(frozen=True)
class GatewayKey:
    """The API Gateway API key that meters one customer key in its usage plan (music_admin.usage_plans)."""

    id: str
    value: str = field(repr=False)  # out of tracebacks and logs
