"""Authentication (OWASP API2) over HTTP: every way a key can be wrong gets the contract's 401, never data."""

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from music_local.launcher import LaunchedApi
from tests.helpers.contract import spec_example, without_request_specifics
from tests.helpers.seed import (
    ALICE_EXPIRED_KEY,
    ALICE_KEY,
    ALICE_REVOKED_KEY,
    CAROL_KEY,
    DAVE_KEY,
    ORG,
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
