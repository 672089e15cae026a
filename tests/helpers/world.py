"""The stack the ``aws`` fixture hands a test, built once per test session (per xdist worker) and put back before
each test as it was when the demo fixtures had just been loaded.

Building it (tables, bucket, queues, usage plans, a role per function, the demo data) takes a second or more of
moto's time; putting its data back takes a few requests: the items the previous test wrote (moto's server records
them, music_local.changes) get their loaded version again or are deleted, the bucket's objects and the API keys are
compared with what was loaded, the queues are purged. A test that changed more than data (deleted a table or a
queue, changed a role's policy, reset the moto server) has the stack built again for the next.

DynamoDB Local holds a copy of the tables for the tests that run there (``pytest.mark.dynamodb``): loaded from
moto's, and compared with what was loaded whole (a scan of each table) before each such test, since its requests
pass no recorder.
"""

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from music_local.emulator import LocalAws, batch_write
from music_local.fixtures import load_fixtures
from music_local.moto_process import MotoProcess
from music_local.template import local_template
from tests.helpers.aws import (
    AUDIO_BUCKET,
    AUTH_TABLE,
    DEAD_LETTER_QUEUE,
    GENERATION_QUEUE,
    IDEMPOTENCY_TABLE,
    JOBS_TABLE,
)
from tests.helpers.dynamodb_local import DynamoDbLocal
from tests.helpers.seed import DEMO

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3.type_defs import ObjectTypeDef

MOTO = "moto"
DYNAMODB_LOCAL = "dynamodb-local"
BACKENDS = (MOTO, DYNAMODB_LOCAL)

Key = tuple[str, ...]


@dataclass
class Table:
    """A table's items as loaded, by key."""

    name: str
    key_names: tuple[str, ...]
    items: dict[Key, dict[str, Any]]

    def key(self, item: Mapping[str, Any]) -> Key:
        return tuple(json.dumps(item[name], sort_keys=True) for name in self.key_names)

    def item_key(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in self.key_names}

    @classmethod
    def read(cls, client: "DynamoDBClient", name: str) -> "Table":
        schema = client.describe_table(TableName=name)["Table"]["KeySchema"]
        table = cls(name, tuple(key["AttributeName"] for key in schema), {})
        table.items = {table.key(item): item for item in _scan(client, name)}
        return table

    def restore(self, client: "DynamoDBClient", written: Iterable[Mapping[str, Any]] | None = None) -> None:
        """Put the loaded items back: those of ``written`` (items or keys), or, by default, every item that differs
        from its loaded version (a scan)."""
        if written is None:
            current = {self.key(item): item for item in _scan(client, self.name)}
            touched = {key for key, item in current.items() if self.items.get(key) != item}
            touched |= self.items.keys() - current.keys()
            keys = {key: current.get(key) or self.items[key] for key in touched}
        else:
            keys = {self.key(item): dict(item) for item in written}
        requests: list[Any] = [
            {"PutRequest": {"Item": self.items[key]}}
            if key in self.items
            else {"DeleteRequest": {"Key": self.item_key(item)}}
            for key, item in keys.items()
        ]
        batch_write(client, self.name, requests)


def _scan(client: "DynamoDBClient", name: str) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
        yield from page["Items"]


@dataclass(frozen=True)
class StoredObject:
    etag: str
    body: bytes
    content_type: str


class World:
    """The session's stack on the moto server, and its tables on DynamoDB Local once a test asks for them."""

    def __init__(self, moto: MotoProcess, dynamodb_local: Callable[[], DynamoDbLocal]) -> None:
        self.moto = moto
        self.dynamodb_local = dynamodb_local  # started on first call
        self._built_at: int | None = None  # the moto server's reset count when the stack was built
        self._aws: LocalAws
        self._tables: dict[str, Table] = {}
        self._objects: dict[str, StoredObject] = {}
        self._api_keys: dict[str, bool] = {}  # gateway key id -> enabled
        self._plan_keys: dict[str, set[str]] = {}  # usage plan id -> its key ids
        self._local: tuple[LocalAws, dict[str, Table]] | None = None  # DynamoDB Local's stack and loaded tables
        self._local_used = False

    def stack(self, backend: str) -> LocalAws:
        """The stack with its data as loaded, its tables on ``backend``."""
        changes = self.moto.changes()
        if self._built_at != self.moto.resets or changes.structure:
            self._build()
        else:
            for table in self._tables.values():
                written = changes.items.get(table.name, [])
                if written or changes.every_item:
                    table.restore(self._aws.dynamodb, None if changes.every_item else written)
            if changes.objects:
                self._restore_objects()
            if changes.queues:
                for url in self._aws.queue_urls.values():
                    self._aws.sqs.purge_queue(QueueUrl=url)
            if changes.api_keys and not self._restore_api_keys():
                self._build()
        self.moto.changes()  # the restore's own requests
        return self._aws if backend == MOTO else self._on_dynamodb_local()

    def _build(self) -> None:
        self.moto.reset()
        aws = LocalAws(
            self.moto.endpoint,
            jobs_table=JOBS_TABLE,
            auth_table=AUTH_TABLE,
            bucket=AUDIO_BUCKET,
            idempotency_table=IDEMPOTENCY_TABLE,
            generation_queue=GENERATION_QUEUE,
            dead_letter_queue=DEAD_LETTER_QUEUE,
        )
        aws.create_resources(local_template())
        load_fixtures(DEMO, aws)
        self._aws = aws
        self._tables = {name: Table.read(aws.dynamodb, name) for name in aws.table_names.values()}
        self._objects = {}
        for listed in _objects(aws):
            stored = aws.s3.get_object(Bucket=aws.bucket, Key=listed["Key"])
            self._objects[listed["Key"]] = StoredObject(listed["ETag"], stored["Body"].read(), stored["ContentType"])
        self._api_keys, self._plan_keys = _api_keys(aws)
        self._built_at = self.moto.resets
        self._local = None  # DynamoDB Local's copy names the gateway keys of the previous build

    def _restore_objects(self) -> None:
        aws = self._aws
        current = {listed["Key"]: listed["ETag"] for listed in _objects(aws)}
        for key in current.keys() - self._objects.keys():
            aws.s3.delete_object(Bucket=aws.bucket, Key=key)
        for key, stored in self._objects.items():
            if current.get(key) != stored.etag:
                aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=stored.body, ContentType=stored.content_type)

    def _restore_api_keys(self) -> bool:
        """The gateway keys and plan memberships as loaded; False when a loaded key is gone (the auth items name
        it by its id, which a new key would not have)."""
        aws = self._aws
        api_keys, plan_keys = _api_keys(aws)
        if self._api_keys.keys() - api_keys.keys():
            return False
        for plan_id, key_ids in plan_keys.items():
            for key_id in key_ids - self._plan_keys.get(plan_id, set()):
                aws.apigateway.delete_usage_plan_key(usagePlanId=plan_id, keyId=key_id)
            for key_id in self._plan_keys.get(plan_id, set()) - key_ids:
                aws.apigateway.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")
        for key_id, enabled in api_keys.items():
            if key_id not in self._api_keys:
                aws.apigateway.delete_api_key(apiKey=key_id)
            elif enabled != self._api_keys[key_id]:
                enable = str(self._api_keys[key_id]).lower()
                aws.apigateway.update_api_key(
                    apiKey=key_id, patchOperations=[{"op": "replace", "path": "/enabled", "value": enable}]
                )
        return True

    def _on_dynamodb_local(self) -> LocalAws:
        if self._local is None:
            aws = self._aws.with_tables_on(self.dynamodb_local().endpoint)
            existing = set(aws.dynamodb.list_tables()["TableNames"])
            for logical_id, name in aws.table_names.items():
                if name not in existing:
                    aws.dynamodb.create_table(**local_template().create_table_arguments(logical_id, name))
            for table in self._tables.values():
                table.restore(aws.dynamodb)
            self._local = aws, {name: Table.read(aws.dynamodb, name) for name in aws.table_names.values()}
        elif self._local_used:
            aws, tables = self._local
            if set(aws.table_names.values()) - set(aws.dynamodb.list_tables()["TableNames"]):
                self._local = None  # a test deleted a table: made and loaded again
                return self._on_dynamodb_local()
            for table in tables.values():
                table.restore(aws.dynamodb)
        self._local_used = True
        return self._local[0]


def _objects(aws: LocalAws) -> Iterator["ObjectTypeDef"]:
    for page in aws.s3.get_paginator("list_objects_v2").paginate(Bucket=aws.bucket):
        yield from page.get("Contents", [])


def _api_keys(aws: LocalAws) -> tuple[dict[str, bool], dict[str, set[str]]]:
    keys = {
        key["id"]: key["enabled"]
        for page in aws.apigateway.get_paginator("get_api_keys").paginate()
        for key in page["items"]
    }
    plans = {
        plan_id: {
            key["id"]
            for page in aws.apigateway.get_paginator("get_usage_plan_keys").paginate(usagePlanId=plan_id)
            for key in page["items"]
        }
        for plan_id in aws.usage_plan_ids.values()
    }
    return keys, plans
