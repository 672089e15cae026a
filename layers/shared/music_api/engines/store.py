"""The engine catalogue in the jobs table, under its own partition (docs/data-model.md).

Key layout: ``pk = CATALOGUE#ENGINES``, ``sk = ENGINE#<key>``: one Query reads the whole catalogue, and no job
key (``ORG#…``) can collide with it. Operators write it with ``music-api-admin engine`` (admin/music_admin).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ValidationError

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
    return catalogue_item(item, StoredEngine, lambda engine: f"ENGINE#{engine.key}", CorruptEngineError, "engine")


def catalogue_item[Item: BaseModel](
    item: dict[str, Any], model: type[Item], sort_key_of: Callable[[Item], str], corrupt: type[Exception], name: str
) -> Item:
    """One item of a catalogue partition (an engine, a policy rule) as ``model``, its sort key the one ``sort_key_of``
    gives it: anything else is a bad write (``corrupt``), never something to list or judge a request by."""
    values = from_item(item)
    sort_key = values.pop("sk", None)
    values.pop("pk", None)
    try:
        read = model.model_validate(values)
    except (ValidationError, TypeError, ValueError) as exc:
        raise corrupt(f"Stored {name} item is invalid") from exc
    if sort_key != sort_key_of(read):
        raise corrupt(f"Stored {name} item does not match its key")
    return read


@dataclass
class CachedCatalogue:
    """The enabled engines, re-read when older than ``ttl_seconds``: one Query per container per TTL, not per
    request. One per container (create's ``engine_cache``), as Lambda reuses it across invocations."""

    ttl_seconds: float
    _engines: dict[str, StoredEngine] = field(default_factory=dict)
    _read_at: float | None = None

    def engines(self, catalogue: EngineCatalogue) -> dict[str, StoredEngine]:
        now = time.monotonic()
        if self._read_at is None or now - self._read_at >= self.ttl_seconds:
            self._engines = {engine.key: engine for engine in catalogue.enabled()}
            self._read_at = now
        return self._engines
