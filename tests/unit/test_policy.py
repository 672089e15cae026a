"""The authorizer's policy document: one Allow naming each organization, or Deny all; nothing else."""

import pytest

from music_api.authorizer.policy import MalformedMethodArnError, authorizer_policy
from music_local.iam import is_allowed

ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/v1/music/org_abc123/generations/mgen_1"


STAGE_ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod"


def test_each_organization_gets_the_familys_routes_on_this_api_and_stage() -> None:
    policy = authorizer_policy(ARN, "usr_a", ["org_abc123", "org_xyz789"], {"user_id": "usr_a"})

    (statement,) = policy["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == [
        f"{STAGE_ARN}/GET/v1/music/org_abc123/generations",
        f"{STAGE_ARN}/GET/v1/music/org_abc123/generations/*",
        f"{STAGE_ARN}/POST/v1/music/org_abc123/generations",
        f"{STAGE_ARN}/POST/v1/music/org_abc123/generations/*/cancel",
        f"{STAGE_ARN}/GET/v1/music/org_abc123/engines",
        f"{STAGE_ARN}/GET/v1/music/org_abc123/tracks/*",
        f"{STAGE_ARN}/GET/v1/music/org_xyz789/generations",
        f"{STAGE_ARN}/GET/v1/music/org_xyz789/generations/*",
        f"{STAGE_ARN}/POST/v1/music/org_xyz789/generations",
        f"{STAGE_ARN}/POST/v1/music/org_xyz789/generations/*/cancel",
        f"{STAGE_ARN}/GET/v1/music/org_xyz789/engines",
        f"{STAGE_ARN}/GET/v1/music/org_xyz789/tracks/*",
    ]
    assert policy["principalId"] == "usr_a"
    assert policy["context"] == {"user_id": "usr_a"}
    assert is_allowed(policy, ARN)


@pytest.mark.parametrize(
    ("request_path", "allowed"),
    [
        ("POST/v1/music/org_abc123/generations/mgen_1/cancel", True),
        ("GET/v1/music/org_abc123/generations", True),
        ("GET/v1/music/org_other1/generations", False),
        ("POST/v1/music/org_abc123/generations", True),
        ("POST/v1/music/org_other1/generations", False),
        ("GET/v1/music/org_abc123/engines", True),
        ("POST/v1/music/org_abc123/engines", False),
        ("GET/v1/music/org_abc123/generationsx", False),
        ("POST/v1/music/org_other1/generations/mgen_1/cancel", False),
        ("POST/v1/music/org_abc123/generations/mgen_1", False),
        ("DELETE/v1/music/org_abc123/generations/mgen_1", False),
        ("PUT/v1/music/org_abc123/generations/mgen_1/cancel", False),
        ("GET/v1/music/org_abc123/tracks/mtrack_1", True),
        ("GET/v1/music/org_other1/tracks/mtrack_1", False),
        ("POST/v1/music/org_abc123/tracks/mtrack_1", False),
        ("DELETE/v1/music/org_abc123/tracks/mtrack_1", False),
        ("GET/v1/music/org_abc123/tracks", False),
    ],
)
def test_only_the_familys_methods_are_allowed_and_only_in_the_callers_organizations(
    request_path: str, allowed: bool
) -> None:
    policy = authorizer_policy(ARN, "usr_a", ["org_abc123"], {})

    assert is_allowed(policy, f"{STAGE_ARN}/{request_path}") is allowed


def test_no_organization_denies_every_route() -> None:
    policy = authorizer_policy(ARN, "usr_a", [], {})

    (statement,) = policy["policyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert not is_allowed(policy, ARN)
    assert not is_allowed(policy, ARN.replace("GET", "POST"))


@pytest.mark.parametrize("organization_ids", [[], ["org_abc123"]], ids=["deny", "allow"])
def test_the_document_has_iams_exact_keys_and_version(organization_ids: list[str]) -> None:
    """API Gateway reads the document as IAM does: a misspelt key, action or version is an unusable policy (the
    gateway's 500), never the 403 or 200 meant."""
    document = authorizer_policy(ARN, "usr_a", organization_ids, {})["policyDocument"]

    (statement,) = document["Statement"]
    assert document.keys() == {"Version", "Statement"}
    assert document["Version"] == "2012-10-17"
    assert statement.keys() == {"Action", "Effect", "Resource"}
    assert statement["Action"] == "execute-api:Invoke"
    if not organization_ids:
        assert statement == {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [f"{STAGE_ARN}/*/*"]}


@pytest.mark.parametrize(
    "method_arn",
    [
        "",
        "*",
        "arn:aws:execute-api:eu-west-1:123456789012:*",
        "arn:aws:s3:::bucket/key",
        ARN.split("/GET", maxsplit=1)[0],
    ],
)
def test_a_malformed_method_arn_is_refused(method_arn: str) -> None:
    with pytest.raises(MalformedMethodArnError):
        authorizer_policy(method_arn, "usr_a", ["org_abc123"], {})


@pytest.mark.parametrize("job_id", ["mgen_1\n", "mgen_\n1", "\n", "mgen_1\r\nX-Injected: 1"])
def test_a_line_break_in_the_path_still_gets_the_callers_policy(job_id: str) -> None:
    """A path is the client's: a newline in it must not turn a valid key into an authorizer failure (503)."""
    method_arn = ARN.replace("mgen_1", job_id)

    policy = authorizer_policy(method_arn, "usr_a", ["org_abc123"], {})

    (statement,) = policy["policyDocument"]["Statement"]
    assert ARN.replace("mgen_1", "*") in statement["Resource"]
    assert is_allowed(policy, method_arn)
