"""Time as the contract writes it: ISO-8601, UTC, whole seconds, ``Z`` suffix (``2026-06-28T10:30:00Z``)."""

from datetime import UTC, datetime
from typing import Final

# What to_utc_z produces, as a JSON Schema pattern (docs/openapi.yaml).
UTC_Z_PATTERN: Final = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
UTC_Z_LENGTH: Final = len("2026-06-28T10:30:00Z")


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_utc_z(moment: datetime) -> str:
    """Format an aware datetime; naive datetimes are rejected rather than guessed at."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
