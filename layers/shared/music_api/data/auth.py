"""Users, organizations, memberships and API keys in the auth table (docs/data-model.md).

| item         | pk                    | sk                      | GSI ByUser (gsi1pk / gsi1sk)     |
|--------------|-----------------------|-------------------------|----------------------------------|
| user         | ``USER#<user_id>``    | ``USER``                |                                  |
| organization | ``ORG#<org_id>``      | ``ORG``                 |                                  |
| membership   | ``USER#<user_id>``    | ``MEMBERSHIP#<org_id>`` |                                  |
| API key      | ``APIKEY#<sha256>``   | ``APIKEY``              | ``USER#<user_id>`` / ``APIKEY#<key_id>`` |

The authorizer reads one API-key item by digest and queries one user's memberships; the operator CLI writes.
Every multi-item write is one transaction: nothing is ever half-written.
"""

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from music_api.auth.keys import Environment, digest_of, generate_key, key_hint, key_id_of
from music_api.clock import to_utc_z, utc_now
from music_api.data.dynamodb import error_code, from_item, store_errors, to_item
from music_api.errors import InternalError
from music_api.ids import is_organization_id
from music_api.models.auth import Role, StoredApiKey, StoredMembership

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The authorizer's policy names every organization; beyond this many the policy would outgrow its limits.
MAX_ORGANIZATIONS_PER_USER = 100
BY_USER_INDEX = "ByUser"
STORE = "Auth store"


@dataclass(frozen=True, slots=True)
class OrganizationIds:
    ids: list[str]
    truncated: bool  # more than MAX_ORGANIZATIONS_PER_USER memberships: the rest were not read


class AdminError(Exception):
    """An operator request that cannot be carried out; the message says why, for a person to read."""


class CorruptAuthItemError(InternalError):
    """An auth item does not satisfy its model."""


def api_key_key(digest: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"APIKEY#{digest}"}, "sk": {"S": "APIKEY"}}


def user_key(user_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "USER"}}


def organization_key(organization_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"ORG#{organization_id}"}, "sk": {"S": "ORG"}}


def membership_key(user_id: str, organization_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": f"MEMBERSHIP#{organization_id}"}}


class AuthRepository:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    # --- what the authorizer reads ----------------------------------------------------------------------------

    def get_api_key(self, digest: str) -> StoredApiKey | None:
        """The key stored under ``digest``; strongly consistent, so a revocation is seen at once."""
        with store_errors(STORE):
            response = self._client.get_item(TableName=self._table_name, Key=api_key_key(digest), ConsistentRead=True)
        item = response.get("Item")
        if item is None:
            return None
        api_key = _validated(StoredApiKey, item)
        if not hmac.compare_digest(api_key.digest, digest):
            raise CorruptAuthItemError("API key item does not match its key")
        return api_key

    def organization_ids(self, user_id: str) -> "OrganizationIds":
        """The organizations ``user_id`` belongs to, sorted; malformed ids are left out, never passed on."""
        with store_errors(STORE):
            response = self._client.query(
                TableName=self._table_name,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={":pk": {"S": f"USER#{user_id}"}, ":prefix": {"S": "MEMBERSHIP#"}},
                ProjectionExpression="organization_id",
                ConsistentRead=True,
                Limit=MAX_ORGANIZATIONS_PER_USER,
            )
        found = (item.get("organization_id", {}).get("S", "") for item in response.get("Items", []))
        return OrganizationIds(
            ids=sorted(org for org in found if is_organization_id(org)),
            truncated="LastEvaluatedKey" in response,
        )

    # --- what operators write ---------------------------------------------------------------------------------

    def create_user(self, user_id: str) -> None:
        self._put_new(user_key(user_id), {"user_id": user_id}, f"user {user_id} already exists")

    def create_organization(self, organization_id: str) -> None:
        self._put_new(
            organization_key(organization_id),
            {"organization_id": organization_id},
            f"organization {organization_id} already exists",
        )

    def create_api_key(
        self, user_id: str, environment: Environment, expires_at: datetime | None = None, *, key: str | None = None
    ) -> tuple[str, StoredApiKey]:
        """A new key for an existing user: the plaintext (shown once, never stored) and what is stored.

        ``key`` imports a key made elsewhere (the local demo's fixed key); by default one is generated.
        """
        plaintext = key or generate_key(environment)
        digest = digest_of(plaintext)
        values = {
            "key_id": key_id_of(digest),
            "digest": digest,
            "user_id": user_id,
            "environment": environment,
            "status": "active",
            "hint": key_hint(plaintext),
            "created_at": to_utc_z(utc_now()),
            "expires_at": to_utc_z(expires_at) if expires_at is not None else None,
        }
        stored = _validated_values(StoredApiKey, values)  # what is written is what the authorizer can read
        item = api_key_key(digest) | to_item(
            values | {"gsi1pk": f"USER#{user_id}", "gsi1sk": f"APIKEY#{stored.key_id}"}
        )
        self._transact(
            [
                {"ConditionCheck": self._exists(user_key(user_id))},
                {"Put": self._put_if_absent(item)},
            ],
            [f"unknown user {user_id}", "that key already exists"],
        )
        return plaintext, stored

    def list_api_keys(self, user_id: str) -> list[StoredApiKey]:
        self._require(user_key(user_id), f"unknown user {user_id}")
        with store_errors(STORE):
            pages = self._client.get_paginator("query").paginate(
                TableName=self._table_name,
                IndexName=BY_USER_INDEX,
                KeyConditionExpression="gsi1pk = :user AND begins_with(gsi1sk, :prefix)",
                ExpressionAttributeValues={":user": {"S": f"USER#{user_id}"}, ":prefix": {"S": "APIKEY#"}},
            )
            items = [item for page in pages for item in page.get("Items", [])]
        return sorted((_validated(StoredApiKey, item) for item in items), key=lambda key: key.created_at)

    def revoke_api_key(self, user_id: str, key_id: str) -> StoredApiKey:
        """Revoke one of the user's keys; revoking a revoked key changes nothing."""
        matching = [key for key in self.list_api_keys(user_id) if key.key_id == key_id]
        if not matching:
            raise AdminError(f"user {user_id} has no key {key_id}")
        (api_key,) = matching
        if api_key.status == "revoked":
            return api_key
        revoked_at = utc_now()
        with store_errors(STORE):
            try:
                self._client.update_item(
                    TableName=self._table_name,
                    Key=api_key_key(api_key.digest),
                    UpdateExpression="SET #status = :revoked, revoked_at = :now",
                    ConditionExpression="attribute_exists(pk) AND user_id = :user",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":revoked": {"S": "revoked"},
                        ":now": {"S": to_utc_z(revoked_at)},
                        ":user": {"S": user_id},
                    },
                )
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    raise AdminError(f"user {user_id} has no key {key_id}") from exc
                raise
        return api_key.model_copy(update={"status": "revoked", "revoked_at": revoked_at})

    def add_membership(self, user_id: str, organization_id: str, role: Role) -> None:
        values = {
            "user_id": user_id,
            "organization_id": organization_id,
            "role": role,
            "created_at": to_utc_z(utc_now()),
        }
        _validated_values(StoredMembership, values)
        item = membership_key(user_id, organization_id) | to_item(values)
        self._transact(
            [
                {"ConditionCheck": self._exists(user_key(user_id))},
                {"ConditionCheck": self._exists(organization_key(organization_id))},
                {"Put": self._put_if_absent(item)},
            ],
            [
                f"unknown user {user_id}",
                f"unknown organization {organization_id}",
                f"user {user_id} is already a member of {organization_id}",
            ],
        )

    def remove_membership(self, user_id: str, organization_id: str) -> None:
        with store_errors(STORE):
            try:
                self._client.delete_item(
                    TableName=self._table_name,
                    Key=membership_key(user_id, organization_id),
                    ConditionExpression="attribute_exists(pk)",
                )
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    raise AdminError(f"user {user_id} is not a member of {organization_id}") from exc
                raise

    # --- helpers ----------------------------------------------------------------------------------------------

    def _exists(self, key: dict[str, Any]) -> dict[str, Any]:
        return {"TableName": self._table_name, "Key": key, "ConditionExpression": "attribute_exists(pk)"}

    def _put_if_absent(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"TableName": self._table_name, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}

    def _put_new(self, key: dict[str, Any], values: dict[str, Any], exists_message: str) -> None:
        item = key | to_item(values | {"created_at": to_utc_z(utc_now())})
        self._transact([{"Put": self._put_if_absent(item)}], [exists_message])

    def _require(self, key: dict[str, Any], message: str) -> None:
        with store_errors(STORE):
            found = self._client.get_item(TableName=self._table_name, Key=key, ConsistentRead=True).get("Item")
        if found is None:
            raise AdminError(message)

    def _transact(self, operations: list[dict[str, Any]], failure_messages: list[str]) -> None:
        """All or nothing; a failed condition becomes the message written for its operation."""
        with store_errors(STORE):
            try:
                self._client.transact_write_items(TransactItems=operations)  # type: ignore[arg-type]
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise
                reasons = exc.response.get("CancellationReasons", [])
                for reason, message in zip(reasons, failure_messages, strict=False):
                    if reason.get("Code") == "ConditionalCheckFailed":
                        raise AdminError(message) from exc
                raise


def _validated[Model: (StoredApiKey, StoredMembership)](model: type[Model], item: dict[str, Any]) -> Model:
    try:
        return model.model_validate(from_item(item))
    except (ValidationError, TypeError, ValueError) as exc:
        raise CorruptAuthItemError(f"Stored {model.__name__} item is invalid") from exc


def _validated_values[Model: (StoredApiKey, StoredMembership)](model: type[Model], values: dict[str, Any]) -> Model:
    """Check an item before it is written; an operator's bad input is theirs to correct, not a corrupt item."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise AdminError(f"invalid {model.__name__}: {problems}") from exc
