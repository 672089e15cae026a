"""The engine catalogue: operators change it with music-api-admin, GET /engines lists what is enabled."""

import json
from typing import Any

import pytest

from list_engines.app import lambda_handler
from music_admin.cli import main
from music_api.engines.store import engine_key
from music_local.emulator import LocalAws
from music_local.gateway import LambdaContext
from tests.helpers.aws import reset_aws
from tests.helpers.events import load_event

STUDIO_AS_LISTED = {
    "key": "studio",
    "max_duration_seconds": 300,
    "vocals": False,
    "lyrics": False,
    "stems": True,
    "languages": [],
    "licence_class": "commercial_cleared",
    "commercial_use": True,
    "requires_attribution": False,
}


SYNTH = ["--implementation", "synth"]


def list_engines(lambda_context: LambdaContext, **authorizer: str) -> tuple[int, dict[str, Any]]:
    event = load_event("list_engines.json")
    event["requestContext"]["authorizer"].update(authorizer)
    response = lambda_handler(event, lambda_context)
    body: dict[str, Any] = json.loads(response["body"])
    return response["statusCode"], body


def admin(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--jobs-table", "test-music-jobs", "engine", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_enabled_engines_are_listed_by_key_with_every_published_field(
    aws: LocalAws, lambda_context: LambdaContext
) -> None:
    status, body = list_engines(lambda_context)

    assert status == 200
    assert [engine["key"] for engine in body["engines"]] == ["sketch", "studio"]  # legacy is disabled
    assert body["engines"][1] == STUDIO_AS_LISTED
    assert body["engines"][0]["max_duration_seconds"] == 30
    assert body["engines"][0]["lyrics"] is False


def test_an_engine_put_by_the_operator_is_listed_and_a_disabled_one_is_not(
    aws: LocalAws, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = admin(
        capsys, "put", "choir", "--max-duration", "90", "--vocals", "--lyrics", "--languages", "en,la",
        "--licence-class", "commercial_enterprise", "--commercial-use", "--implementation", "synth",
        "--setting", "palette=ambient", "--setting", "voices=4",
    )  # fmt: skip
    assert (code, err) == (0, "put engine choir (enabled, at most 90 s)\n")
    assert admin(capsys, "disable", "sketch")[0] == 0

    _, body = list_engines(lambda_context)

    assert [engine["key"] for engine in body["engines"]] == ["choir", "studio"]
    assert body["engines"][0] == {
        "key": "choir",
        "max_duration_seconds": 90,
        "vocals": True,
        "lyrics": True,
        "stems": False,
        "languages": ["en", "la"],
        "licence_class": "commercial_enterprise",
        "commercial_use": True,
        "requires_attribution": False,
    }
    stored = aws.dynamodb.get_item(TableName=aws.jobs_table, Key=engine_key("choir"))["Item"]
    assert stored["implementation"] == {"S": "synth"}  # what runs it, never listed
    assert stored["settings"] == {"M": {"palette": {"S": "ambient"}, "voices": {"N": "4"}}}


def test_the_operator_lists_every_engine_with_whether_it_is_enabled(
    aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = admin(capsys, "list", "--json")

    assert code == 0
    listed = {engine["key"]: engine["enabled"] for engine in json.loads(out)["engines"]}
    assert listed == {"legacy": False, "sketch": True, "studio": True}
    code, out, _ = admin(capsys, "list")
    assert out.splitlines()[0].split() == [
        "key", "max_duration_seconds", "vocals", "lyrics", "stems", "languages", "licence_class", "commercial_use",
        "requires_attribution", "enabled", "implementation", "settings",
    ]  # fmt: skip
    assert out.splitlines()[1].split()[:2] == ["legacy", "120"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["put", "Studio", "--max-duration", "60", "--licence-class", "unclear"], "argument key: must be 2 to 32"),
        (["put", "long", "--max-duration", "3601", "--licence-class", "unclear", *SYNTH], "max_duration_seconds"),
        (
            ["put", "intl", "--max-duration", "60", "--licence-class", "unclear", "--languages", "english", *SYNTH],
            "languages",
        ),
        (["put", "free", "--max-duration", "60", "--licence-class", "free"], "invalid choice: 'free'"),
        (["put", "nocode", "--max-duration", "60", "--licence-class", "unclear"], "--implementation"),
        (["put", "gpu", "--max-duration", "60", "--licence-class", "unclear", "--implementation", "gpu"], "'gpu'"),
        (
            [
                "put",
                "odd",
                "--max-duration",
                "60",
                "--licence-class",
                "unclear",
                "--implementation",
                "synth",
                "--setting",
                "Bad=1",
            ],
            "settings",
        ),
    ],
)
def test_a_bad_engine_is_a_usage_error_and_writes_nothing(
    aws: LocalAws, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    before = aws.dynamodb.scan(TableName=aws.jobs_table)["Items"]

    with pytest.raises(SystemExit) as exited:
        admin(capsys, *argv)

    assert exited.value.code == 2
    assert message in capsys.readouterr().err
    assert aws.dynamodb.scan(TableName=aws.jobs_table)["Items"] == before


def test_the_operator_puts_lists_and_removes_content_policy_rules(
    aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    def policy(*argv: str) -> tuple[int, str, str]:
        code = main(["--jobs-table", "test-music-jobs", "policy", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    assert policy("put", "no-clones", "--pattern", r"\bclone\b", "--reason", "Voice clones are not made here.")[0] == 0
    code, out, _ = policy("list", "--json")
    assert code == 0
    assert {rule["id"] for rule in json.loads(out)["rules"]} == {"artist-voice", "no-clones"}  # the demo's and ours
    assert policy("remove", "no-clones") == (0, "", "removed content policy rule no-clones\n")
    assert policy("remove", "no-clones")[0] == 1
    with pytest.raises(SystemExit):
        policy("put", "broken", "--pattern", "(unclosed", "--reason", "x")
    assert "not a regular expression" in capsys.readouterr().err


def test_disabling_an_unknown_engine_is_refused_and_creates_nothing(
    aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = admin(capsys, "disable", "nosuch")

    assert (code, err) == (1, "music-api-admin: no engine nosuch in the catalogue\n")
    assert "Item" not in aws.dynamodb.get_item(TableName=aws.jobs_table, Key=engine_key("nosuch"))


def test_a_corrupt_catalogue_item_is_a_500_in_the_envelope_naming_nothing_inside(
    aws: LocalAws, lambda_context: LambdaContext
) -> None:
    aws.dynamodb.update_item(
        TableName=aws.jobs_table,
        Key=engine_key("studio"),
        UpdateExpression="SET max_duration_seconds = :text",
        ExpressionAttributeValues={":text": {"S": "300"}},
    )

    status, body = list_engines(lambda_context)

    assert status == 500
    assert body["error"]["code"] == "INTERNAL_ERROR"
    assert aws.jobs_table not in json.dumps(body)


def test_a_member_of_another_organization_only_is_refused(aws: LocalAws, lambda_context: LambdaContext) -> None:
    status, body = list_engines(lambda_context, organization_ids="org_xyz789")

    assert status == 403
    assert body["error"]["code"] == "ORGANIZATION_ACCESS_DENIED"


def test_without_the_authorizers_identity_nothing_is_listed(aws: LocalAws, lambda_context: LambdaContext) -> None:
    status, body = list_engines(lambda_context, user_id="")

    assert status == 401
    assert body["error"]["code"] == "AUTHENTICATION_REQUIRED"


def test_an_unreachable_catalogue_is_a_retryable_503(
    aws: LocalAws, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    reset_aws()
    event = load_event("list_engines.json")

    response = lambda_handler(event, lambda_context)

    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "1"
    assert json.loads(response["body"])["error"]["code"] == "SERVICE_UNAVAILABLE"


def test_the_catalogue_stops_at_the_most_the_listing_holds(
    aws: LocalAws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("music_admin.engines.MAX_ENGINES", 3)  # demo.json holds 3

    code, _, err = admin(capsys, "put", "extra", "--max-duration", "60", "--licence-class", "unclear", *SYNTH)
    replaced, _, _ = admin(capsys, "put", "sketch", "--max-duration", "45", "--licence-class", "unclear", *SYNTH)

    assert (code, err) == (1, "music-api-admin: the catalogue already holds 3 engines, the most GET /engines lists\n")
    assert replaced == 0
    assert "Item" not in aws.dynamodb.get_item(TableName=aws.jobs_table, Key=engine_key("extra"))
