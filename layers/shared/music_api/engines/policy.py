"""The content policy: the operator's rules, as data, that refuse a generation before any engine runs.

Stored with the engine catalogue in the jobs table, under a partition of its own (``pk = CATALOGUE#POLICY``,
``sk = RULE#<id>``), written with ``music-api-admin policy`` (admin/music_admin). A rule is a regular expression,
matched case-insensitively against the request's words (prompt, title, lyrics, style tags), and the reason a
refused user reads: it says why, and never quotes the request back (docs/engines.md, "Content policy").
"""

import re
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

from music_api.core.dynamodb import partition_items
from music_api.core.errors import InternalError
from music_api.engines.store import catalogue_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

POLICY_PARTITION: Final = "CATALOGUE#POLICY"
RULE_ID_PATTERN: Final = r"^[a-z][a-z0-9-]{1,47}$"
MAX_RULES: Final = 100


class CorruptRuleError(InternalError):
    """A policy item that does not read as a rule: a bad write, never something to judge a request by."""


class ContentRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(pattern=RULE_ID_PATTERN)]
    pattern: Annotated[str, Field(min_length=1, max_length=500)]
    reason: Annotated[str, Field(min_length=1, max_length=300)]

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return pattern

    @cached_property
    def expression(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.IGNORECASE)


def rule_key(rule_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": POLICY_PARTITION}, "sk": {"S": f"RULE#{rule_id}"}}


def refusal_for(rules: Iterable[ContentRule], texts: Sequence[str]) -> ContentRule | None:
    """The first rule (by id) that any of the request's texts matches, or ``None``."""
    for rule in sorted(rules, key=lambda rule: rule.id):
        if any(rule.expression.search(text) for text in texts):
            return rule
    return None


class ContentPolicy:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def rules(self) -> list[ContentRule]:
        """Every rule; strongly consistent, so a rule put a moment ago applies to the next job."""
        items = partition_items(self._client, self._table_name, POLICY_PARTITION, "Content policy", consistent=True)
        return [_rule(item) for item in items]


def _rule(item: dict[str, Any]) -> ContentRule:
    return catalogue_item(item, ContentRule, lambda rule: f"RULE#{rule.id}", CorruptRuleError, "policy rule")
