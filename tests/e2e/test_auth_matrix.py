"""Authentication (OWASP API2) over HTTP: every way a key can be wrong gets the contract's 401, never data."""

import http.client
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import pytest

from music_admin.auth_store import AdminError, AuthRepository
from music_api.authorizer.keys import digest_of
from music_local.emulator import LocalAws
from music_local.launcher import LaunchedApi
from tests.helpers.aws import issue_key
from tests.helpers.contract import spec_example, without_request_specifics
from tests.helpers.seed import (
    ALICE_EXPIRED_KEY,
    ALICE_KEY,
    ALICE_REVOKED_KEY,
    CAROL_KEY,
    DAVE_KEY,
    LIVE_KEY,
    ORG,
    OTHER_ORG,
    SEED_JOB_ID,
    UNKNOWN_KEY,
)

PATH = f"/v1/music/{ORG}/generations/{SEED_JOB_ID}"


def send(api: LaunchedApi, headers: list[tuple[str, str]], path: str = PATH) -> tuple[int, dict[str, Any]]:
    target = urlsplit(api.url)
    connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=30)
    try:
        connection.putrequest("GET", path)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


UNAUTHENTICATED = {
    "missing header": [],
    "empty": [("X-API-Key", "")],
    "whitespace": [("X-API-Key", "    ")],
    "wrong prefix": [("X-API-Key", "ghp_" + ALICE_KEY[9:])],
    "bad checksum": [("X-API-Key", ALICE_KEY[:-1] + ("A" if ALICE_KEY[-1] != "A" else "B"))],
    "unknown key": [("X-API-Key", UNKNOWN_KEY)],
    "revoked key": [("X-API-Key", ALICE_REVOKED_KEY)],
    "expired key": [("X-API-Key", ALICE_EXPIRED_KEY)],
    "two X-API-Key headers": [("X-API-Key", ALICE_KEY), ("X-API-Key", ALICE_KEY)],
    "two spellings of the header": [("X-API-Key", ALICE_KEY), ("x-api-key", DAVE_KEY)],
    "bearer token instead": [("Authorization", f"Bearer {ALICE_KEY}")],
    "key with a prefix word": [("X-API-Key", f"Bearer {ALICE_KEY}")],
    "truncated key": [("X-API-Key", ALICE_KEY[:30])],
    "a frd_live_ key on the local (test) stack": [("X-API-Key", LIVE_KEY)],
}


@pytest.mark.parametrize("case", sorted(UNAUTHENTICATED))
def test_a_bad_key_is_the_contracts_401(local_api: LaunchedApi, case: str) -> None:
    example = spec_example("401 Unauthorized:")

    status, body = send(local_api, UNAUTHENTICATED[case])

    assert status == 401
    assert without_request_specifics(body) == without_request_specifics(example)


def test_a_key_only_in_the_query_string_is_401(local_api: LaunchedApi) -> None:
    status, body = send(local_api, [], path=f"{PATH}?api_key={ALICE_KEY}&X-API-Key={ALICE_KEY}")

    assert status == 401
    assert body["error"]["code"] == "AUTHENTICATION_REQUIRED"


@pytest.mark.parametrize("header", ["X-API-Key", "x-api-key", "X-API-KEY", "x-Api-kEy"])
def test_the_header_name_is_case_insensitive(local_api: LaunchedApi, header: str) -> None:
    status, body = send(local_api, [(header, ALICE_KEY)])

    assert status == 200
    assert body["id"] == SEED_JOB_ID


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [(CAROL_KEY, 403, "ORGANIZATION_ACCESS_DENIED"), (DAVE_KEY, 403, "ORGANIZATION_ACCESS_DENIED")],
)
def test_a_valid_key_for_another_organization_is_403(local_api: LaunchedApi, key: str, status: int, code: str) -> None:
    answered, body = send(local_api, [("X-API-Key", key)])

    assert answered == status
    assert body["error"]["code"] == code


# --- Two operators at once: a removed membership never stays on a key ------------------------------------------

NEW_ORG = "org_new001"
RACES = ["member add vs member remove", "key create vs member remove"]


def memberships(aws: LocalAws, user_id: str) -> list[str]:
    """The user's organizations as the membership items say, read straight from the table."""
    items = aws.dynamodb.query(
        TableName=aws.auth_table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :membership)",
        ExpressionAttributeValues={":pk": {"S": f"USER#{user_id}"}, ":membership": {"S": "MEMBERSHIP#"}},
        ConsistentRead=True,
    )["Items"]
    return sorted(item["organization_id"]["S"] for item in items)


@dataclass
class CommitAfterRead:
    """Operator B's ``commit``, run right after operator A's ``read``-th DynamoDB read.

    DynamoDB reads a Query's items one after another and pages a large partition (1 MB a page), so another
    transaction can commit between two items of one Query. A's Query is made to page one item at a time, which
    puts a gap between every two items that B's commit can be placed in deterministically.
    """

    read: int
    commit: Callable[[], object]
    reads: int = 0

    def operator(self, aws: LocalAws) -> AuthRepository:
        client = aws.dynamodb_client()
        client.meta.events.register("provide-client-params.dynamodb.Query", self._one_item_a_page)
        for operation in ("GetItem", "Query", "BatchGetItem"):
            client.meta.events.register(f"after-call.dynamodb.{operation}", self._after_read)
        return AuthRepository(client, aws.auth_table)

    def _one_item_a_page(self, params: dict[str, Any], **_: Any) -> None:
        params["Limit"] = 1

    def _after_read(self, **_: Any) -> None:
        self.reads += 1
        if self.reads == self.read:
            self.commit()


@pytest.mark.parametrize("race", RACES)
def test_whichever_read_another_operators_removal_follows_no_key_keeps_the_organization(
    aws: LocalAws, race: str
) -> None:
    aws.auth.create_organization(NEW_ORG)
    read = 1
    while True:
        user_id = f"usr_race{RACES.index(race)}x{read}"
        aws.auth.create_user(user_id)
        aws.auth.add_membership(user_id, ORG, "member")
        aws.auth.add_membership(user_id, OTHER_ORG, "member")
        key = issue_key(aws, user_id)
        interleaving = CommitAfterRead(read, partial(aws.auth.remove_membership, user_id, OTHER_ORG))
        operator = interleaving.operator(aws)
        command = (
            partial(operator.add_membership, user_id, NEW_ORG, "member")
            if race == "member add vs member remove"
            else partial(issue_key, aws, user_id, "test", operator)
        )

        try:
            command()
        except AdminError as refused:
            outcome = str(refused)
        else:
            outcome = "written"

        if interleaving.reads < read:
            break  # B's commit would come after all of A's reads: every gap has been tried
        assert outcome in {
            "written",
            f"user {user_id} was changed by someone else meanwhile; nothing was written, try again",
        }
        assert OTHER_ORG not in memberships(aws, user_id)
        for stored in aws.auth.list_api_keys(user_id):
            assert stored.organization_ids == memberships(aws, user_id), f"B committed after A's read {read}"
        assert OTHER_ORG not in aws.auth.get_api_key(digest_of(key)).organization_ids  # type: ignore[union-attr]
        read += 1
    assert read > 1, "B's commit must have followed at least one of A's reads"
