"""How the local gateway applies an authorizer policy: IAM wildcard semantics, explicit deny wins."""

from typing import Any

import pytest

from music_local.iam import is_allowed

ARN = "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/v1/music/org_a/generations/mgen_1"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"principalId": "u", "policyDocument": {"Version": "2012-10-17", "Statement": list(statements)}}


def allow(resource: str | list[str], action: str = "execute-api:Invoke") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


@pytest.mark.parametrize(
    ("resource", "allowed"),
    [
        (ARN, True),
        ("arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/v1/music/org_a/generations/*", True),
        ("arn:aws:execute-api:us-east-1:123456789012:api/prod/*", True),
        ("arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/v1/music/org_b/generations/*", False),
        ("arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/v1/music/org_?/generations/mgen_1", True),
        ("arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/v1/music/org_a/generations/mgen_", False),
        ("arn:aws:execute-api:us-east-1:123456789012:api/dev/GET/*", False),
        ("*", True),
    ],
)
def test_resource_wildcards(resource: str, allowed: bool) -> None:
    assert is_allowed(policy(allow(resource)), ARN) is allowed


def test_an_explicit_deny_wins_over_any_allow() -> None:
    document = policy(allow("*"), {"Effect": "Deny", "Action": "execute-api:*", "Resource": [ARN]})

    assert not is_allowed(document, ARN)


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"policyDocument": {}},
        policy(),
        policy(allow(ARN, action="s3:GetObject")),
        policy({"Effect": "allow", "Action": "execute-api:Invoke", "Resource": ARN}),
    ],
)
def test_nothing_is_allowed_without_a_matching_allow(document: dict[str, Any]) -> None:
    assert not is_allowed(document, ARN)


def test_a_single_statement_object_and_a_list_of_resources_are_accepted() -> None:
    document = {"policyDocument": {"Statement": allow(["arn:other", ARN])}}

    assert is_allowed(document, ARN)


def test_a_wildcard_spans_line_breaks_as_in_iam() -> None:
    arn = ARN.replace("mgen_1", "mgen_\n1")

    assert is_allowed(policy(allow("arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/*")), arn)
    assert not is_allowed(policy(allow(ARN.replace("mgen_1", "mgen_?"))), arn.replace("\n", "\n\n"))
