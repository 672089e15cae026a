"""The operator's writes to the engine catalogue (read side: music_api.engines.store, same model both ways)."""

from botocore.exceptions import ClientError

from music_admin.auth_store import AdminError
from music_api.core.dynamodb import error_code, store_errors, to_item
from music_api.engines.models import MAX_ENGINES, StoredEngine
from music_api.engines.store import EngineCatalogue, engine_key


class UnknownEngineError(AdminError):
    """``engine disable`` named a key the catalogue does not have."""


class EngineAdmin(EngineCatalogue):
    def put(self, engine: StoredEngine) -> None:
        """Create or replace the engine (a new maximum or licence takes effect for the next create)."""
        keys = {stored.key for stored in self.all()}
        if engine.key not in keys and len(keys) >= MAX_ENGINES:
            raise AdminError(f"the catalogue already holds {MAX_ENGINES} engines, the most GET /engines lists")
        with store_errors("Engine catalogue"):
            self._client.put_item(
                TableName=self._table_name,
                Item={**engine_key(engine.key), **to_item(engine.model_dump())},
            )

    def disable(self, key: str) -> None:
        """Hide the engine from the listing and refuse it on create; its jobs and tracks are unaffected."""
        with store_errors("Engine catalogue"):
            try:
                self._client.update_item(
                    TableName=self._table_name,
                    Key=engine_key(key),
                    UpdateExpression="SET enabled = :false",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":false": {"BOOL": False}},
                )
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    raise UnknownEngineError(f"no engine {key} in the catalogue") from None
                raise
