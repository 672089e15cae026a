"""The engine catalogue in the jobs table, under its own partition (docs/data-model.md).

Key layout: ``pk = CATALOGUE#ENGINES``, ``sk = ENGINE#<key>``: one Query reads the whole catalogue, and no job
key (``ORG#…``) can collide with it. Operators write it with ``music-api-admin engine`` (admin/music_admin).
"""

from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError

from music_api.core.dynamodb import from_item, partition_items
from music_api.core.errors import InternalError
from music_api.engines.models import StoredEngine

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CATALOGUE_PARTITION: Final = "CATALOGUE#ENGINES"


class CorruptEngineError(InternalError):
    """A catalogue item that does not read as an engine: a bad write, never something to list."""


def engine_key(key: str) -> dict[str, dict[str, str]]:
    """The item key of an engine, in DynamoDB's attribute-value form."""
    return {"pk": {"S": CATALOGUE_PARTITION}, "sk": {"S": f"ENGINE#{key}"}}


class EngineCatalogue:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def all(self) -> list[StoredEngine]:
        """Every engine, enabled or not, by key. Eventually consistent: a change shows within a second."""
        items = partition_items(self._client, self._table_name, CATALOGUE_PARTITION, "Engine catalogue")
        return [_engine(item) for item in items]

    def enabled(self) -> list[StoredEngine]:
        return [engine for engine in self.all() if engine.enabled]


def _engine(item: dict[str, Any]) -> StoredEngine:
    values = from_item(item)
    sort_key = values.pop("sk", None)
    values.pop("pk", None)
    try:
        engine = StoredEngine.model_validate(values)
    except (ValidationError, TypeError, ValueError) as exc:
        raise CorruptEngineError("Stored engine item is invalid") from exc
    if sort_key != f"ENGINE#{engine.key}":
        raise CorruptEngineError("Stored engine item does not match its key")
    return engine
