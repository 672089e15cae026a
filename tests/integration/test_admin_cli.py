"""music-api-admin against the moto server: keys printed once, stored hashed, clear refusals, no half-writes."""

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError

from music_admin.auth_store import AdminError, membership_key
from music_admin.cli import main
from music_admin.keys import generate_key
from music_admin.usage_plans import MeteredKeys
from music_api.authorizer.keys import Environment, digest_of, key_id_of, parse_key
from music_api.authorizer.store import api_key_key
from music_api.webhooks.store import WebhookStore
from music_local.emulator import LocalAws
from music_local.template import default_template
from tests.helpers.seed import ALICE, ALICE_KEY, CAROL, DAVE, ORG, OTHER_ORG
from tests.helpers.world import DYNAMODB_LOCAL

pytestmark = pytest.mark.dynamodb(DYNAMODB_LOCAL)

VENV_BIN = Path(sys.executable).parent


ALICE_KEY_ID = key_id_of(digest_of(ALICE_KEY))


def gateway_state(aws: LocalAws) -> list[tuple[str, list[str]]]:
    """Every gateway API key, and every usage plan with its member keys."""
    keys = sorted(key["id"] for key in aws.apigateway.get_api_keys()["items"])
    plans = [
        (name, sorted(key["id"] for key in aws.apigateway.get_usage_plan_keys(usagePlanId=plan_id)["items"]))
        for name, plan_id in sorted(aws.usage_plan_ids.items())
    ]
    return [("keys", keys), *plans]


def admin(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--table", "test-music-auth", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_created_key_is_printed_once_and_only_its_digest_is_stored(
    aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = admin(capsys, "key", "create", "--user", DAVE, "--environment", "test", "--plan", "trial")

    assert code == 0
    key = out.strip()
    parsed = parse_key(key)
    assert parsed is not None
    assert parsed.key_id in err
    item = aws.dynamodb.get_item(TableName=aws.auth_table, Key=api_key_key(digest_of(key)))["Item"]
    assert item["user_id"] == {"S": DAVE}
    assert key not in json.dumps(item)
    assert key[9:-4] not in json.dumps(aws.dynamodb.scan(TableName=aws.auth_table)["Items"])


def test_keys_are_listed_without_their_secrets(aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    _, key, _ = admin(capsys, "key", "create", "--user", DAVE, "--expires-in-days", "30", "--plan", "standard")

    code, out, _ = admin(capsys, "key", "list", "--user", DAVE, "--json")

    assert code == 0
    listing = json.loads(out)
    assert listing["user_id"] == DAVE
    assert {k["status"] for k in listing["keys"]} == {"active"}
    assert [k["plan"] for k in listing["keys"]] == ["standard", "standard"]  # the fixtures' default, then --plan
    assert len(listing["keys"]) == 2
    assert key.strip() not in out
    assert all(k["hint"].startswith(("frd_test_...", "frd_live_...")) for k in listing["keys"])
    code, table, _ = admin(capsys, "key", "list", "--user", DAVE)
    assert table.splitlines()[0].split() == [
        "key_id",
        "hint",
        "environment",
        "status",
        "plan",
        "created_at",
        "expires_at",
        "revoked_at",
    ]


def test_a_revoked_key_is_listed_as_revoked_and_revoking_again_changes_nothing(
    aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    _, key, _ = admin(capsys, "key", "create", "--user", DAVE, "--plan", "standard")
    key_id = parse_key(key.strip()).key_id  # type: ignore[union-attr]

    assert admin(capsys, "key", "revoke", "--user", DAVE, "--key-id", key_id)[0] == 0
    assert admin(capsys, "key", "revoke", "--user", DAVE, "--key-id", key_id)[0] == 0

    stored = aws.auth.get_api_key(digest_of(key.strip()))
    assert stored is not None
    assert stored.status == "revoked"
    assert stored.revoked_at is not None


def test_nobody_can_revoke_another_users_key(aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    _, key, _ = admin(capsys, "key", "create", "--user", DAVE, "--plan", "standard")
    key_id = parse_key(key.strip()).key_id  # type: ignore[union-attr]

    code, _, err = admin(capsys, "key", "revoke", "--user", ALICE, "--key-id", key_id)

    assert code == 1
    assert f"user {ALICE} has no key {key_id}" in err
    assert aws.auth.get_api_key(digest_of(key.strip())).status == "active"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["key", "create", "--user", "usr_nobody1", "--plan", "trial"], "unknown user usr_nobody1"),
        (
            ["key", "create", "--user", DAVE, "--plan", "gold"],
            "unknown plan 'gold'; the plans are: internal, standard, trial",
        ),
        (["key", "list", "--user", "usr_nobody1"], "unknown user usr_nobody1"),
        (["member", "add", "--user", "usr_nobody1", "--org", ORG], "unknown user usr_nobody1"),
        (["member", "add", "--user", DAVE, "--org", "org_nowhere"], "unknown organization org_nowhere"),
        (["member", "add", "--user", ALICE, "--org", ORG], f"user {ALICE} is already a member of {ORG}"),
        (["member", "remove", "--user", DAVE, "--org", ORG], f"user {DAVE} is not a member of {ORG}"),
        (["user", "create", ALICE], f"user {ALICE} already exists"),
        (["org", "create", ORG], f"organization {ORG} already exists"),
        (["key", "revoke", "--user", ALICE, "--key-id", "key_0000000000000000"], "has no key key_0000000000000000"),
        (["key", "plan", "--user", ALICE, "--key-id", ALICE_KEY_ID, "--plan", "gold"], "unknown plan 'gold'"),
        (["key", "plan", "--user", CAROL, "--key-id", ALICE_KEY_ID, "--plan", "trial"], f"has no key {ALICE_KEY_ID}"),
    ],
)
def test_refusals_are_clear_and_write_nothing(
    aws: LocalAws, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    before = (aws.dynamodb.scan(TableName=aws.auth_table)["Items"], gateway_state(aws))

    code, out, err = admin(capsys, *argv)

    assert code == 1
    assert message in err
    assert out == ""
    assert "Traceback" not in err
    assert (aws.dynamodb.scan(TableName=aws.auth_table)["Items"], gateway_state(aws)) == before


def test_memberships_are_added_and_removed(aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    assert admin(capsys, "member", "add", "--user", DAVE, "--org", OTHER_ORG, "--role", "admin")[0] == 0
    assert aws.auth.organization_ids(DAVE) == [OTHER_ORG]

    assert admin(capsys, "member", "remove", "--user", DAVE, "--org", OTHER_ORG)[0] == 0

    assert aws.auth.organization_ids(DAVE) == []
    item = aws.dynamodb.get_item(TableName=aws.auth_table, Key=membership_key(DAVE, OTHER_ORG))
    assert "Item" not in item


@pytest.mark.parametrize(
    "argv",
    [
        ["key", "create", "--user", "alice"],
        ["key", "create", "--user", DAVE, "--expires-at", "2030-01-01T00:00:00"],
        ["key", "create", "--user", DAVE, "--expires-at", "next week"],
        ["key", "create", "--user", DAVE, "--expires-in-days", "0"],
        ["key", "create", "--user", DAVE, "--expires-at", "2020-01-01T00:00:00Z"],
        ["key", "create", "--user", DAVE],  # no --plan, and no stack to name its default
        ["key", "plan", "--user", DAVE, "--key-id", "key_0000000000000000"],
        ["key", "revoke", "--user", DAVE, "--key-id", "frd_live_abc"],
        ["member", "add", "--user", DAVE, "--org", "org_*"],
        ["member", "add", "--user", DAVE, "--org", ORG, "--role", "root"],
    ],
)
def test_bad_usage_exits_2_before_touching_aws(
    aws: LocalAws, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--table", aws.auth_table, *argv])

    assert exited.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_without_a_table_it_says_how_to_name_one(
    aws: LocalAws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUTH_TABLE_NAME")

    with pytest.raises(SystemExit) as exited:
        main(["key", "list", "--user", ALICE])

    assert exited.value.code == 2
    assert "pass --table or --stack-name, or set AUTH_TABLE_NAME" in capsys.readouterr().err


def test_the_table_and_plans_are_found_through_a_deployed_stacks_outputs(
    aws: LocalAws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH_TABLE_NAME", "a-table-from-another-shell")  # an explicit flag beats the environment
    # Not boto3.client(): its default session keeps the credentials of whichever test created it first.
    cloudformation = aws.client("cloudformation")
    plan_ids = ",".join(f"{name}={plan_id}" for name, plan_id in aws.usage_plan_ids.items())
    cloudformation.create_stack(
        StackName="music-generations",
        TemplateBody=json.dumps(
            {
                "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {
                    "AuthTableName": {"Value": aws.auth_table},
                    "UsagePlanIds": {"Value": plan_ids},
                    "DefaultUsagePlan": {"Value": "trial"},
                },
            }
        ),
    )
    stack = ["--stack-name", "music-generations"]

    assert main([*stack, "key", "create", "--user", CAROL]) == 0  # no --plan: the stack's default
    assert "plan trial" in capsys.readouterr().err
    code = main([*stack, "key", "list", "--user", CAROL, "--json"])

    assert code == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(key["plan"] for key in listed["keys"]) == ["standard", "trial"]


def test_no_region_at_all_is_a_usage_error(
    aws: LocalAws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    with pytest.raises(SystemExit) as exited:
        main(["--table", aws.auth_table, "key", "list", "--user", ALICE])

    assert exited.value.code == 2
    assert "no AWS region: pass --region or set AWS_REGION" in capsys.readouterr().err


def test_an_unreachable_store_exits_3_with_a_short_message(aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--table", aws.auth_table, "--endpoint-url", "http://127.0.0.1:9", "user", "create", "usr_zed001"])

    assert code == 3
    err = capsys.readouterr().err
    assert err.startswith("music-api-admin: AWS request failed")
    assert "Traceback" not in err


def test_the_console_script_is_installed_and_works(aws: LocalAws) -> None:
    environment = os.environ | {"AWS_ENDPOINT_URL": aws.endpoint}
    completed = subprocess.run(  # noqa: S603 - our own console script
        [
            str(VENV_BIN / "music-api-admin"),
            "--table",
            aws.auth_table,
            "key",
            "create",
            "--user",
            DAVE,
            "--plan",
            "trial",
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert parse_key(completed.stdout.strip()) is not None


def test_a_concurrent_change_writes_nothing_and_says_try_again(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two operators at once: the second transaction's version check fails, so no key keeps a stale copy."""
    repository = aws.auth
    stale = repository._user(DAVE)
    # The faster operator's change bumps the version.
    MeteredKeys(repository, aws.usage_plans).issue(DAVE, generate_key("test"), "test", "standard")
    monkeypatch.setattr(repository, "_user", lambda user_id: stale)
    before = aws.dynamodb.scan(TableName=aws.auth_table)["Items"]

    with pytest.raises(AdminError, match="changed by someone else meanwhile"):
        repository.add_membership(DAVE, ORG, "member")

    assert aws.dynamodb.scan(TableName=aws.auth_table)["Items"] == before


def test_every_key_of_a_user_carries_the_users_organizations(aws: LocalAws) -> None:
    keys = MeteredKeys(aws.auth, aws.usage_plans)
    first = keys.issue(DAVE, generate_key("test"), "test", "standard")
    aws.auth.add_membership(DAVE, ORG, "member")
    second = keys.issue(DAVE, generate_key("live"), "live", "trial")
    aws.auth.add_membership(DAVE, OTHER_ORG, "admin")

    listed = {key.key_id: key for key in aws.auth.list_api_keys(DAVE)}

    assert listed[first.key_id].organization_ids == [ORG, OTHER_ORG]
    assert listed[second.key_id].organization_ids == [ORG, OTHER_ORG]


def test_a_user_item_without_its_organizations_and_keys_is_refused_not_guessed(
    aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rebuilding them from the partition would reopen the race the user item closes: a membership removed while a
    key was created stayed on the key item for good (docs/security.md, "Security review, round 2")."""
    aws.dynamodb.put_item(
        TableName=aws.auth_table, Item={"pk": {"S": "USER#usr_old001"}, "sk": {"S": "USER"}, "version": {"N": "3"}}
    )

    code, _, err = admin(capsys, "member", "add", "--user", "usr_old001", "--org", ORG)

    assert code == 1
    assert "user usr_old001 predates the user item's organizations and keys: migrate it first" in err


def lose_first_response(monkeypatch: pytest.MonkeyPatch, operation: str) -> list[dict[str, Any]]:
    """The operator's first ``operation`` request (``service.Operation``) reaches the emulator and is carried
    out, but its response is lost on the way back (a read timeout), so botocore sends the same request again.
    Returns both requests' bodies."""
    sent: list[dict[str, Any]] = []

    def deliver_then_lose_the_response(request: Any, **_: Any) -> None:
        sent.append(json.loads(request.body))
        if len(sent) > 1:
            return  # the retry goes out normally
        delivered = urllib.request.Request(request.url, data=request.body, headers=dict(request.headers))  # noqa: S310
        with urllib.request.urlopen(delivered, timeout=10) as response:  # noqa: S310 - the moto server on loopback
            assert response.status in (200, 201)  # carried out
        raise ReadTimeoutError(endpoint_url=request.url)

    make_client = boto3.session.Session.client

    def client(session: boto3.session.Session, *args: Any, **kwargs: Any) -> Any:
        made = make_client(session, *args, **kwargs)
        made.meta.events.register(f"before-send.{operation}", deliver_then_lose_the_response)
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)
    return sent


@pytest.fixture
def lost_first_response(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    return lose_first_response(monkeypatch, "dynamodb.TransactWriteItems")


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["user", "create", "usr_new001"], "created user usr_new001"),
        (["org", "create", "org_new001"], "created organization org_new001"),
        (["member", "add", "--user", DAVE, "--org", ORG], f"added {DAVE} to {ORG}"),
        (["member", "remove", "--user", CAROL, "--org", OTHER_ORG], f"removed {CAROL} from {OTHER_ORG}"),
        (
            ["key", "create", "--user", DAVE, "--environment", "test", "--plan", "trial"],
            "this is the only time the key is shown",
        ),
    ],
    ids=lambda value: " ".join(value[:2]) if isinstance(value, list) else None,
)
def test_a_write_retried_after_it_committed_reports_success(
    aws: LocalAws,
    capsys: pytest.CaptureFixture[str],
    lost_first_response: list[dict[str, Any]],
    argv: list[str],
    said: str,
) -> None:
    code, out, err = admin(capsys, *argv)

    assert len(lost_first_response) == 2, "botocore must have retried the committed transaction"
    first, retry = lost_first_response
    assert first["ClientRequestToken"] == retry["ClientRequestToken"], "DynamoDB recognises a retry by its token"
    assert (code, said in err) == (0, True), err
    if argv[:2] == ["key", "create"]:
        key = parse_key(out.strip())
        assert key is not None, "the key whose item was written must be shown"
        stored = aws.auth.get_api_key(key.digest)
        assert stored is not None
        assert stored.status == "active"
        assert len(aws.auth.list_api_keys(DAVE)) == 2  # the fixture's key and this one, not a third
        assert aws.usage_plans.plan_of(stored.gateway_key_id) == "trial", "its gateway key must stay, in its plan"


@pytest.mark.parametrize("operation", ["apigateway.CreateApiKey", "apigateway.CreateUsagePlanKey"])
def test_a_key_create_whose_gateway_call_was_retried_leaves_one_gateway_key_in_its_plan(
    aws: LocalAws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, operation: str
) -> None:
    """API Gateway takes no idempotency token: a lost CreateApiKey response made a second gateway key."""
    keys_before = set(gateway_state(aws)[0][1])
    sent = lose_first_response(monkeypatch, operation)

    code, out, err = admin(capsys, "key", "create", "--user", DAVE, "--environment", "test", "--plan", "trial")

    assert len(sent) == 2, "botocore must have retried the call"
    assert code == 0, err
    stored = aws.auth.get_api_key(parse_key(out.strip()).digest)  # type: ignore[union-attr]
    assert stored is not None
    assert set(gateway_state(aws)[0][1]) - keys_before == {stored.gateway_key_id}
    assert aws.usage_plans.plan_of(stored.gateway_key_id) == "trial"


def test_every_write_carries_a_fresh_client_request_token(
    aws: LocalAws, capsys: pytest.CaptureFixture[str], lost_first_response: list[dict[str, Any]]
) -> None:
    admin(capsys, "org", "create", "org_new001")
    admin(capsys, "org", "create", "org_new002")

    tokens = [body["ClientRequestToken"] for body in lost_first_response[::2]]
    assert len(set(tokens)) == 2


@pytest.mark.parametrize(("environment", "other"), [("live", "test"), ("test", "live")])
def test_a_key_whose_prefix_disagrees_with_its_environment_is_refused(
    aws: LocalAws, environment: Environment, other: Environment
) -> None:
    before = (aws.dynamodb.scan(TableName=aws.auth_table)["Items"], gateway_state(aws))

    with pytest.raises(AdminError, match=f"a frd_{other}_ key cannot be stored as a {environment} key"):
        MeteredKeys(aws.auth, aws.usage_plans).issue(DAVE, generate_key(other), environment, "trial")

    assert (aws.dynamodb.scan(TableName=aws.auth_table)["Items"], gateway_state(aws)) == before


@pytest.mark.parametrize("environment", ["live", "test"])
def test_the_stored_environment_is_the_keys_prefix(
    aws: LocalAws, capsys: pytest.CaptureFixture[str], environment: str
) -> None:
    _, key, _ = admin(capsys, "key", "create", "--user", DAVE, "--environment", environment, "--plan", "trial")

    assert key.startswith(f"frd_{environment}_")
    assert aws.auth.get_api_key(digest_of(key.strip())).environment == environment  # type: ignore[union-attr]


def test_a_keys_plan_is_changed_at_the_gateway_and_listed(aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = admin(capsys, "key", "plan", "--user", ALICE, "--key-id", ALICE_KEY_ID, "--plan", "trial")

    assert code == 0
    assert f"{ALICE_KEY_ID} is on plan trial (was internal)" in err
    _, out, _ = admin(capsys, "key", "list", "--user", ALICE, "--json")
    assert {key["key_id"]: key["plan"] for key in json.loads(out)["keys"]}[ALICE_KEY_ID] == "trial"
    gateway_key_id = aws.auth.get_api_key(digest_of(ALICE_KEY)).gateway_key_id  # type: ignore[union-attr]
    members = dict(gateway_state(aws)[1:])
    assert [plan for plan, keys in members.items() if gateway_key_id in keys] == ["trial"]  # one plan only
    assert admin(capsys, "key", "plan", "--user", ALICE, "--key-id", ALICE_KEY_ID, "--plan", "trial")[0] == 0
    assert dict(gateway_state(aws)[1:]) == members  # the same plan again changes nothing


def test_plans_are_listed_with_their_limits(aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = admin(capsys, "plan", "list")

    assert code == 0
    header, *rows = [line.split() for line in out.splitlines()]
    assert header == ["plan", "rate_per_second", "burst", "quota", "per_method", "default"]
    limits = {plan.name: plan for plan in default_template().usage_plans()}
    assert [row[0] for row in rows] == sorted(limits)
    for name, rate, burst, *_ in rows:
        assert (float(rate), int(burst)) == (limits[name].throttle.rate, limits[name].throttle.burst)  # type: ignore[union-attr]
    trial = next(row for row in rows if row[0] == "trial")
    assert " ".join(trial[3:6]) == f"{limits['trial'].quota.limit} per {limits['trial'].quota.period}"  # type: ignore[union-attr]


def test_a_webhook_secret_is_printed_once_and_rotation_keeps_the_old_one_signing(
    aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    code, first, _ = admin(capsys, "webhook-secret", "create", "--org", ORG)
    assert code == 0
    assert first.strip().startswith("whsec_")
    with pytest.raises(SystemExit):  # a second create is refused
        admin(capsys, "webhook-secret", "create", "--org", ORG)
    code, second, err = admin(capsys, "webhook-secret", "rotate", "--org", ORG, "--overlap-hours", "2")
    assert code == 0
    assert "2 h" in err
    assert WebhookStore(aws.dynamodb, aws.auth_table).signing_secrets(ORG) == [second.strip(), first.strip()]
    with pytest.raises(SystemExit):  # nothing to rotate
        admin(capsys, "webhook-secret", "rotate", "--org", OTHER_ORG)
