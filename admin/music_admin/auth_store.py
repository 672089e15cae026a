"""Users, organizations, memberships and API keys in the auth table (docs/data-model.md).

| item         | pk                  | sk                      | holds                                                 |
|--------------|---------------------|-------------------------|-------------------------------------------------------|
| user         | ``USER#<user_id>``  | ``USER``                | ``version``, ``organization_ids``, ``key_digests``    |
| membership   | ``USER#<user_id>``  | ``MEMBERSHIP#<org_id>`` | role                                                  |
| key pointer  | ``USER#<user_id>``  | ``APIKEY#<key_id>``     | the key's digest, to revoke by key id                 |
| organization | ``ORG#<org_id>``    | ``ORG``                 |                                                       |
| API key      | ``APIKEY#<sha256>`` | ``APIKEY``              | status, expiry, the user's organizations, its gateway |
|              |                     |                         | key (music_admin.usage_plans)                         |

The authorizer makes one strongly consistent GetItem: the API-key item carries a copy of its user's
organization ids. Every write that changes what a key may reach (a new key, a membership added or removed)
is one transaction that derives from the user item alone (its organizations and its keys, read in one
strongly consistent GetItem) and writes the user item's next ``version`` on the condition that it is still
the one read. A Query of the user's partition would not do: it reads item after item, so another operator's
transaction can commit between two of them, and a copy built from such a read can bring back an organization
whose membership was just removed. Nothing is ever half-written.

Every transaction carries a ClientRequestToken of its own, so DynamoDB answers botocore's retry of a write
that already committed (its response lost on the way back) with success. The token is also stored on the
item the write is about (``request_token``): where a retry is refused all the same (an emulator without
idempotency, or a retry later than DynamoDB's 10 minutes), the write reads that item back and, finding its
own token, reports the truth: it was written.
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from music_admin.keys import key_hint
from music_admin.models import GatewayKey, Role, StoredMembership
from music_api.authorizer.keys import Environment, parse_key
from music_api.authorizer.models import StoredApiKey
from music_api.authorizer.store import STORE, ApiKeyStore, CorruptAuthItemError, api_key_key
from music_api.core.clock import to_utc_z, utc_now
from music_api.core.dynamodb import StoreUnavailableError, error_code, from_item, store_errors, to_item

# A transaction holds at most 100 items: the user, the membership and one update per key must fit, and the
# authorizer's policy names every organization, which must stay within API Gateway's policy size.
MAX_KEYS_PER_USER = 25
MAX_ORGANIZATIONS_PER_USER = 100


class AdminError(Exception):
    """An operator request that cannot be carried out; the message says why, for a person to read."""


def user_key(user_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "USER"}}


def organization_key(organization_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"ORG#{organization_id}"}, "sk": {"S": "ORG"}}


def membership_key(user_id: str, organization_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": f"MEMBERSHIP#{organization_id}"}}


def key_pointer_key(user_id: str, key_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"USER#{user_id}"}, "sk": {"S": f"APIKEY#{key_id}"}}


@dataclass(frozen=True)
class _User:
    """The user item: the version every change bumps and everything a change derives from, in one item."""

    version: int
    organization_ids: list[str]  # sorted; the membership items' organizations
    key_digests: list[str]


class AuthRepository(ApiKeyStore):
    """The operator's reads and writes of users, organizations, memberships and keys, over the authorizer's
    read of a key (the same model validates both sides)."""

    def organization_ids(self, user_id: str) -> list[str]:
        return self._user(user_id).organization_ids

    def create_user(self, user_id: str) -> None:
        token = _request_token()
        values = {
            "user_id": user_id,
            "version": 0,
            "organization_ids": [],
            "key_digests": [],
            "created_at": to_utc_z(utc_now()),
            "request_token": token,
        }
        item = user_key(user_id) | to_item(values)
        self._transact(
            [{"Put": self._put_if_absent(item)}], [f"user {user_id} already exists"], token, user_key(user_id)
        )

    def create_organization(self, organization_id: str) -> None:
        token = _request_token()
        values = {"organization_id": organization_id, "created_at": to_utc_z(utc_now()), "request_token": token}
        self._transact(
            [{"Put": self._put_if_absent(organization_key(organization_id) | to_item(values))}],
            [f"organization {organization_id} already exists"],
            token,
            organization_key(organization_id),
        )

    def create_api_key(
        self,
        user_id: str,
        plaintext: str,
        environment: Environment,
        gateway_key: GatewayKey,
        expires_at: datetime | None = None,
    ) -> StoredApiKey:
        """Store a new key of an existing user, hashed, with the gateway API key that meters it
        (music_admin.usage_plans.MeteredKeys.issue makes both). The plaintext is never stored. The stored
        environment is the key's own prefix: a key whose prefix disagrees with ``environment`` is refused."""
        parsed = parse_key(plaintext)
        if parsed is None:
            raise AdminError("not a valid API key (format or checksum)")
        if parsed.environment != environment:
            raise AdminError(f"a frd_{parsed.environment}_ key cannot be stored as a {environment} key")
        user = self._user(user_id)
        if len(user.key_digests) >= MAX_KEYS_PER_USER:
            raise AdminError(f"user {user_id} already has {MAX_KEYS_PER_USER} keys (revoked ones included), the limit")
        values = {
            "key_id": parsed.key_id,
            "digest": parsed.digest,
            "user_id": user_id,
            "environment": parsed.environment,
            "status": "active",
            "hint": key_hint(plaintext),
            "created_at": to_utc_z(utc_now()),
            "expires_at": to_utc_z(expires_at) if expires_at is not None else None,
            "organization_ids": user.organization_ids,
            "gateway_key_id": gateway_key.id,
            "gateway_key_value": gateway_key.value,
        }
        stored = _validated_values(StoredApiKey, values)  # what is written is what the authorizer can read
        pointer = key_pointer_key(user_id, stored.key_id) | to_item({"key_id": stored.key_id, "digest": stored.digest})
        token = _request_token()
        self._transact(
            [
                self._next_version(user_id, user.version, token, {"key_digests": [*user.key_digests, stored.digest]}),
                {"Put": self._put_if_absent(pointer)},
                {"Put": self._put_if_absent(api_key_key(stored.digest) | to_item(values))},
            ],
            [_concurrent(user_id), "that key already exists", "that key already exists"],
            token,
            user_key(user_id),
        )
        return stored

    def list_api_keys(self, user_id: str) -> list[StoredApiKey]:
        digests = self._user(user_id).key_digests
        keys = []
        # At most MAX_KEYS_PER_USER keys: one BatchGetItem (limit 100) holds them all.
        pending: list[Any] = [api_key_key(digest) for digest in digests]
        for _ in range(5):  # BatchGetItem may leave keys unprocessed under throttling: ask again for those
            if not pending:
                break
            with store_errors(STORE):
                response = self._client.batch_get_item(
                    RequestItems={self._table_name: {"Keys": pending, "ConsistentRead": True}}
                )
            found = response.get("Responses", {}).get(self._table_name, [])
            keys += [_validated(StoredApiKey, from_item(item)) for item in found]
            unprocessed: dict[str, Any] = dict(response.get("UnprocessedKeys", {}).get(self._table_name) or {})
            pending = list(unprocessed.get("Keys", []))
        if pending:
            raise StoreUnavailableError(f"{STORE} kept keys unprocessed")
        return sorted(keys, key=lambda api_key: (api_key.created_at, api_key.key_id))

    def get_user_key(self, user_id: str, key_id: str) -> StoredApiKey:
        """One of the user's keys by its id; AdminError when the user has no such key."""
        with store_errors(STORE):
            pointer = self._client.get_item(
                TableName=self._table_name, Key=key_pointer_key(user_id, key_id), ConsistentRead=True
            ).get("Item")
        api_key = self.get_api_key(pointer["digest"]["S"]) if pointer else None
        if api_key is None or api_key.user_id != user_id:
            raise AdminError(f"user {user_id} has no key {key_id}")
        return api_key

    def revoke_api_key(self, user_id: str, key_id: str) -> StoredApiKey:
        """Revoke one of the user's keys; revoking a revoked key changes nothing."""
        api_key = self.get_user_key(user_id, key_id)
        if api_key.status == "revoked":
            return api_key
        revoked_at = utc_now()
        with store_errors(STORE):
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
        return api_key.model_copy(update={"status": "revoked", "revoked_at": revoked_at})

    def add_membership(self, user_id: str, organization_id: str, role: Role) -> None:
        user = self._user(user_id)
        if organization_id in user.organization_ids:
            raise AdminError(f"user {user_id} is already a member of {organization_id}")
        if len(user.organization_ids) >= MAX_ORGANIZATIONS_PER_USER:
            raise AdminError(f"user {user_id} already belongs to {MAX_ORGANIZATIONS_PER_USER} organizations")
        values = {
            "user_id": user_id,
            "organization_id": organization_id,
            "role": role,
            "created_at": to_utc_z(utc_now()),
        }
        _validated_values(StoredMembership, values)
        organization_ids = sorted([*user.organization_ids, organization_id])
        token = _request_token()
        self._transact(
            [
                self._next_version(user_id, user.version, token, {"organization_ids": organization_ids}),
                {"ConditionCheck": self._exists(organization_key(organization_id))},
                {"Put": self._put_if_absent(membership_key(user_id, organization_id) | to_item(values))},
                *self._copy_organizations(user.key_digests, organization_ids),
            ],
            [_concurrent(user_id), f"unknown organization {organization_id}", _concurrent(user_id)],
            token,
            user_key(user_id),
        )

    def remove_membership(self, user_id: str, organization_id: str) -> None:
        user = self._user(user_id)
        if organization_id not in user.organization_ids:
            raise AdminError(f"user {user_id} is not a member of {organization_id}")
        remaining = [org for org in user.organization_ids if org != organization_id]
        token = _request_token()
        self._transact(
            [
                self._next_version(user_id, user.version, token, {"organization_ids": remaining}),
                {
                    "Delete": {
                        "TableName": self._table_name,
                        "Key": membership_key(user_id, organization_id),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
                *self._copy_organizations(user.key_digests, remaining),
            ],
            [_concurrent(user_id), _concurrent(user_id)],
            token,
            user_key(user_id),
        )

    # --- helpers ----------------------------------------------------------------------------------------------

    def _user(self, user_id: str) -> _User:
        """The user item, strongly consistent; AdminError for an unknown user."""
        with store_errors(STORE):
            item = self._client.get_item(TableName=self._table_name, Key=user_key(user_id), ConsistentRead=True).get(
                "Item"
            )
        if item is None:
            raise AdminError(f"unknown user {user_id}")
        values = from_item(item)
        if "organization_ids" not in values or "key_digests" not in values:
            # Deriving them from the partition again would reopen the race this layout closes.
            raise AdminError(f"user {user_id} predates the user item's organizations and keys: migrate it first")
        return _User(
            version=int(values.get("version", 0)),
            organization_ids=sorted(str(org) for org in values.get("organization_ids", [])),
            key_digests=[str(digest) for digest in values.get("key_digests", [])],
        )

    def _next_version(self, user_id: str, seen_version: int, token: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """The user item's next version with ``changes``, on the condition that it is still the version read:
        the transaction that carries it is then derived from exactly what is stored."""
        values = to_item({**changes, "request_token": token})
        assignments = "".join(f", #{name} = :{name}" for name in values)
        return {
            "Update": {
                "TableName": self._table_name,
                "Key": user_key(user_id),
                "UpdateExpression": f"SET version = :next{assignments}",
                "ConditionExpression": "version = :seen",
                "ExpressionAttributeNames": {f"#{name}": name for name in values},
                "ExpressionAttributeValues": {
                    ":seen": {"N": str(seen_version)},
                    ":next": {"N": str(seen_version + 1)},
                    **{f":{name}": value for name, value in values.items()},
                },
            }
        }

    def _copy_organizations(self, digests: Iterable[str], organization_ids: list[str]) -> list[dict[str, Any]]:
        """Updates that give each of the user's keys the user's organizations, sorted."""
        value = {"L": [{"S": org} for org in sorted(organization_ids)]}
        return [
            {
                "Update": {
                    "TableName": self._table_name,
                    "Key": api_key_key(digest),
                    "UpdateExpression": "SET organization_ids = :orgs",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": {":orgs": value},
                }
            }
            for digest in digests
        ]

    def _exists(self, key: dict[str, Any]) -> dict[str, Any]:
        return {"TableName": self._table_name, "Key": key, "ConditionExpression": "attribute_exists(pk)"}

    def _put_if_absent(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"TableName": self._table_name, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}

    def _transact(
        self,
        operations: list[dict[str, Any]],
        failure_messages: list[str],
        token: str,
        anchor: dict[str, Any],
    ) -> None:
        """All or nothing; a failed condition becomes the message written for its operation, unless ``anchor``
        (the item the write is about) carries ``token``: then this very write committed on an earlier attempt
        whose response was lost, and botocore's retry of it is what failed."""
        with store_errors(STORE):
            try:
                self._client.transact_write_items(TransactItems=operations, ClientRequestToken=token)  # type: ignore[arg-type]
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise
                reasons = exc.response.get("CancellationReasons", [])
                if any(reason.get("Code") == "TransactionConflict" for reason in reasons):
                    raise AdminError(
                        "another change to the same items was in flight; nothing was written, try again"
                    ) from exc
                failed = [
                    index for index, reason in enumerate(reasons) if reason.get("Code") == "ConditionalCheckFailed"
                ]
                if not failed:
                    raise
                if self._carries(anchor, token):
                    return
                raise AdminError(failure_messages[min(failed[0], len(failure_messages) - 1)]) from exc

    def _carries(self, key: dict[str, Any], token: str) -> bool:
        item = self._client.get_item(TableName=self._table_name, Key=key, ConsistentRead=True).get("Item", {})
        return item.get("request_token") == {"S": token}


def _request_token() -> str:
    """One per write, so DynamoDB tells a retry of it (same token) from a new write."""
    return str(uuid.uuid4())


def _concurrent(user_id: str) -> str:
    return f"user {user_id} was changed by someone else meanwhile; nothing was written, try again"


def _validated[Model: (StoredApiKey, StoredMembership)](model: type[Model], values: dict[str, Any]) -> Model:
    """A stored item through its model; one that does not fit is corrupt (a bad write), never trusted."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise CorruptAuthItemError(f"Stored {model.__name__} item is invalid") from exc


def _validated_values[Model: (StoredApiKey, StoredMembership)](model: type[Model], values: dict[str, Any]) -> Model:
    """Check an item before it is written; an operator's bad input is theirs to correct, not a corrupt item."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise AdminError(f"invalid {model.__name__}: {problems}") from exc
