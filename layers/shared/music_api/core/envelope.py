"""The contract's error envelope, and what every response model shares (UTC timestamps, always-present keys)."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from music_api.core.clock import UTC_Z_LENGTH, UTC_Z_PATTERN, to_utc_z

UtcTimestamp = Annotated[
    datetime,
    PlainSerializer(to_utc_z, return_type=str, when_used="json"),
    Field(
        description="ISO-8601 UTC timestamp with a Z suffix, e.g. 2026-06-28T10:30:00Z.",
        json_schema_extra={"format": "date-time", "pattern": UTC_Z_PATTERN, "maxLength": UTC_Z_LENGTH},
    ),
]

# Every key is always serialized, so the published JSON Schema lists fields with defaults as required too.
RESPONSE = ConfigDict(frozen=True, extra="forbid", json_schema_serialization_defaults_required=True)


class ErrorBody(BaseModel):
    model_config = RESPONSE

    code: str
    message: str
    system_message: str
    type: str
    status: int
    details: dict[str, str]
    trace_id: str
    timestamp: UtcTimestamp


class ErrorResponse(BaseModel):
    """The contract's error envelope."""

    model_config = RESPONSE

    success: Literal[False] = False
    error: ErrorBody
