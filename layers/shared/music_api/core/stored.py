"""Type guards for values read from DynamoDB, shared by every stored-item model.

pydantic's lax mode would turn ``"100"`` into 100 and an epoch number into a datetime; for stored data either
means a bad write, so these guards reject anything not stored with the right DynamoDB type.
"""

from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator, ConfigDict

# Writers may add attributes (forward compatible: extra="ignore"); what we read must be exactly right.
STORED_ITEM = ConfigDict(frozen=True, extra="ignore")


def _stored_number(value: object) -> object:
    """DynamoDB numbers arrive as Decimal: accept numbers only, so a string or a bool is corruption."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be stored as a number")  # noqa: TRY004 - pydantic wraps ValueError, not TypeError
    return value


def _stored_string(value: object) -> object:
    """Timestamps are stored as ISO-8601 strings; a number would be parsed as epoch seconds, so refuse it."""
    if not isinstance(value, str):
        raise ValueError("must be stored as a string")  # noqa: TRY004 - see _stored_number
    return value


StoredNumber = BeforeValidator(_stored_number)
StoredTimestamp = Annotated[AwareDatetime, BeforeValidator(_stored_string)]
