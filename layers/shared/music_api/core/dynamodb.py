"""What every DynamoDB store here shares: item (de)serialization and one mapping of botocore failures."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    CredentialRetrievalError,
    HTTPClientError,
)

from music_api.core.errors import InternalError, ServiceUnavailableError

# Error codes after which a retry later can succeed: the caller should back off, not give up.
TRANSIENT_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
        # The role's session token expired before the runtime handed over fresh credentials.
        "ExpiredTokenException",
        # A single-item write met an item a transaction holds (the job writer's succeed writes the job and its
        # track in one): botocore does not retry it, a later attempt can succeed. Neither moto nor DynamoDB Local
        # ever raises it (they lock whole tables): tests/integration/test_write_conflicts.py stubs it.
        "TransactionConflictException",
        # The same, between Regions of a multi-Region strongly consistent global table.
        "ReplicatedWriteConflictException",
    }
)

_deserializer = TypeDeserializer()
_serializer = TypeSerializer()


class StoreUnavailableError(ServiceUnavailableError):
    """A table is throttling or out of reach."""


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item (attribute-value form) as plain Python values (numbers as Decimal)."""
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Plain Python values as a DynamoDB item; ``None`` values are left out rather than stored as NULL, and
    floats are stored by their shortest decimal text (119.4, not 119.40000000000000568)."""
    return {name: _serializer.serialize(_decimals(value)) for name, value in values.items() if value is not None}


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {name: _decimals(inner) for name, inner in value.items() if inner is not None}
    if isinstance(value, list):
        return [_decimals(inner) for inner in value]
    return value


def consistent_item(client: Any, table_name: str, key: Mapping[str, Any], store: str) -> Mapping[str, Any] | None:
    """One strongly consistent GetItem: the item, or ``None`` when there is none; failures as ``store_errors``."""
    with store_errors(store):
        response = client.get_item(TableName=table_name, Key=key, ConsistentRead=True)
    item: Mapping[str, Any] | None = response.get("Item")
    return item


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def store_errors(store: str) -> Iterator[None]:
    """Turn botocore failures into domain errors: transient ones into 503s, the rest into 500s."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) in TRANSIENT_ERROR_CODES:
            raise StoreUnavailableError(f"{store} throttled or failing") from exc
        raise InternalError(f"{store} request failed") from exc
    except (ConnectionError, HTTPClientError, CredentialRetrievalError) as exc:
        raise StoreUnavailableError(f"{store} unreachable") from exc
    except RuntimeError as exc:
        # botocore's word for "credentials were refreshed, but the refreshed credentials are still expired"
        raise StoreUnavailableError(f"{store} credentials expired") from exc
    except BotoCoreError as exc:
        raise InternalError(f"{store} request failed") from exc


def partition_items(
    client: Any, table_name: str, partition: str, store: str, *, consistent: bool = False
) -> list[dict[str, Any]]:
    """Every item of one partition (``pk``), in sort-key order, page after page; failures as ``store_errors``."""
    items: list[dict[str, Any]] = []
    query: dict[str, Any] = {
        "TableName": table_name,
        "KeyConditionExpression": "pk = :partition",
        "ExpressionAttributeValues": {":partition": {"S": partition}},
        "ConsistentRead": consistent,
    }
    with store_errors(store):
        while True:
            page = client.query(**query)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return items
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
