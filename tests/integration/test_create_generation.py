"""POST /generations against the moto server: strict body, the catalogue's rules, a queued job GET can read."""

import json
from typing import Any

import pytest

from create_generation.app import lambda_handler as create_handler
from get_generation.app import lambda_handler as get_handler
from music_admin.engines import EngineAdmin
from music_api.engines.models import StoredEngine
from music_api.jobs.store import job_key
from music_local.emulator import LocalAws
from music_local.gateway import LambdaContext
from tests.helpers.aws import reset_aws
from tests.helpers.events import generation_event, load_event
from tests.helpers.seed import ALICE, BOB, ORG

VALID = {"engine": "studio", "prompt": "Warm lo-fi piano", "duration_seconds": 60}
# No demo engine sings words (the built-in synthesizer cannot): create's rules for lyrics are tested with an
# engine put here that claims to, as an operator would put one whose implementation can.
CHOIR = StoredEngine(
    key="choir",
    max_duration_seconds=120,
    vocals=True,
    lyrics=True,
    stems=False,
    languages=["en"],
    licence_class="personal_only",
    commercial_use=False,
    requires_attribution=True,
    enabled=True,
    implementation="synth",
)


@pytest.fixture
def choir(aws: LocalAws) -> str:
    EngineAdmin(aws.dynamodb, aws.jobs_table).put(CHOIR)
    reset_aws()  # create's catalogue cache
    return CHOIR.key


def create(
    lambda_context: LambdaContext,
    body: Any,
    *,
    content_type: str = "application/json",
    raw: str | None = None,
    **authorizer: str,
) -> tuple[int, dict[str, str], dict[str, Any]]:
    event = load_event("create_generation.json")
    event["headers"]["Content-Type"] = content_type
    event["body"] = raw if raw is not None else json.dumps(body)
    event["requestContext"]["authorizer"].update(authorizer)
    response = create_handler(event, lambda_context)
    return response["statusCode"], response["headers"], json.loads(response["body"])


def test_a_created_job_is_queued_and_read_back_by_get(aws: LocalAws, lambda_context: LambdaContext) -> None:
    body = {**VALID, "mode": "focus", "style_tags": ["lofi", "piano"], "title": "Study"}

    status, headers, job = create(lambda_context, body)

    assert status == 202
    assert headers["Location"] == f"generations/{job['id']}"
    assert headers["Retry-After"] == "5"
    assert job["status"] == "queued"
    assert (job["engine"], job["mode"], job["progress"]) == ("studio", "focus", 0)
    assert job["playback_url"] is None
    read = get_handler(generation_event(ORG, job["id"]), lambda_context)
    assert json.loads(read["body"]) == job
    item = aws.dynamodb.get_item(TableName=aws.jobs_table, Key=job_key(ORG, ALICE, job["id"]))["Item"]
    assert item["request"]["M"]["prompt"] == {"S": "Warm lo-fi piano"}
    assert item["request"]["M"]["style_tags"] == {"L": [{"S": "lofi"}, {"S": "piano"}]}


def test_without_a_key_each_request_creates_its_own_job(aws: LocalAws, lambda_context: LambdaContext) -> None:
    first = create(lambda_context, VALID)[2]["id"]
    second = create(lambda_context, VALID)[2]["id"]

    assert first != second


def test_another_user_of_the_organization_never_sees_the_job(aws: LocalAws, lambda_context: LambdaContext) -> None:
    job_id = create(lambda_context, VALID)[2]["id"]

    read = get_handler(generation_event(ORG, job_id, user_id=BOB), lambda_context)

    assert read["statusCode"] == 404


def test_a_non_member_organization_is_refused_before_the_body_is_read(
    aws: LocalAws, lambda_context: LambdaContext
) -> None:
    status, _, body = create(lambda_context, None, raw="not json", organization_ids="org_xyz789")

    assert (status, body["error"]["code"]) == (403, "ORGANIZATION_ACCESS_DENIED")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"engine": None}, "engine"),
        ({"prompt": None}, "prompt"),
        ({"duration_seconds": None}, "duration_seconds"),
        ({"duration_seconds": "60"}, "duration_seconds"),
        ({"duration_seconds": 0}, "duration_seconds"),
        ({"duration_seconds": 12.5}, "duration_seconds"),
        ({"duration_seconds": 3601}, "duration_seconds"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "x" * 2001}, "prompt"),
        ({"mode": "remix"}, "mode"),
        ({"instrumental": "yes"}, "instrumental"),
        ({"lyrics": "y" * 5001}, "lyrics"),
        ({"seed_track_id": "track_1"}, "seed_track_id"),
        ({"style_tags": ["a"] * 11}, "style_tags"),
        ({"style_tags": [""]}, "style_tags.0"),
        ({"title": "t" * 301}, "title"),
        ({"idempotency_key": "short"}, "idempotency_key"),
        ({"tempo": 90}, "tempo"),
        ({"engine": "Studio!"}, "engine"),
    ],
)
def test_each_bad_field_is_a_400_naming_it(
    aws: LocalAws, lambda_context: LambdaContext, changes: dict[str, Any], field: str
) -> None:
    body = {name: value for name, value in {**VALID, **changes}.items() if value is not None}

    status, _, answer = create(lambda_context, body)

    assert status == 400
    assert answer["error"]["code"] == "VALIDATION_ERROR"
    assert answer["error"]["details"]["field"] == field
    assert "x" * 50 not in json.dumps(answer)  # the input is never echoed


@pytest.mark.parametrize(
    ("tags", "refused"),
    [(["t"], None), (["t" * 40, "lofi"], None), (["lofi", "t" * 41], "style_tags.1"), ([""], "style_tags.0")],
    ids=["1-character", "40-characters", "41-characters", "empty"],
)
def test_each_style_tag_is_1_to_40_characters(
    aws: LocalAws, lambda_context: LambdaContext, tags: list[str], refused: str | None
) -> None:
    """Kept whole when in bounds; one tag out of them is the 400, naming its position."""
    status, _, answer = create(lambda_context, {**VALID, "style_tags": tags})

    if refused is not None:
        assert (status, answer["error"]["details"]["field"]) == (400, refused)
        return
    assert status == 202
    item = aws.dynamodb.get_item(TableName=aws.jobs_table, Key=job_key(ORG, ALICE, answer["id"]))["Item"]
    assert item["request"]["M"]["style_tags"] == {"L": [{"S": tag} for tag in tags]}


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"engine": "nosuch"}, "engine", "is not an enabled engine (GET /engines lists them)"),
        ({"engine": "legacy"}, "engine", "is not an enabled engine (GET /engines lists them)"),
        ({"engine": "sketch", "duration_seconds": 31}, "duration_seconds", "must be at most 30 for engine sketch"),
        (
            {"engine": "sketch", "duration_seconds": 30, "lyrics": "la la"},
            "lyrics",
            "engine sketch does not take lyrics",
        ),
        ({"lyrics": "la la"}, "lyrics", "engine studio does not take lyrics"),
        ({"engine": "choir", "instrumental": True, "lyrics": "la la"}, "lyrics", "an instrumental track has no lyrics"),
    ],
)
def test_the_catalogues_rules_are_a_422_naming_the_field(
    aws: LocalAws, lambda_context: LambdaContext, choir: str, *, changes: dict[str, Any], field: str, reason: str
) -> None:
    status, _, answer = create(lambda_context, {**VALID, **changes})

    assert status == 422
    assert answer["error"]["code"] == "GENERATION_NOT_ALLOWED"
    assert answer["error"]["details"] == {"field": field, "reason": reason}


def test_the_engines_own_limits_are_met_exactly(aws: LocalAws, lambda_context: LambdaContext, choir: str) -> None:
    assert create(lambda_context, {**VALID, "engine": "sketch", "duration_seconds": 30})[0] == 202
    lyrics = {"engine": choir, "lyrics": "la la", "seed_track_id": "mtrack_7c1a9e2f4b8d"}
    assert create(lambda_context, {**VALID, **lyrics})[0] == 202


@pytest.mark.parametrize(
    ("content_type", "raw", "answer"),
    [
        ("text/plain", json.dumps(VALID), (415, "UNSUPPORTED_MEDIA_TYPE")),
        ("", json.dumps(VALID), (415, "UNSUPPORTED_MEDIA_TYPE")),
        ("application/json", "{not json", (400, "INVALID_JSON")),
        ("application/json", "[1, 2]", (400, "INVALID_JSON")),
        ("application/json", "", (400, "INVALID_JSON")),
        ("application/json; charset=utf-8", json.dumps(VALID), (202, None)),
        ("Application/JSON", json.dumps(VALID), (202, None)),
    ],
)
def test_the_body_must_be_one_json_object_sent_as_json(
    aws: LocalAws, lambda_context: LambdaContext, content_type: str, raw: str, answer: tuple[int, str | None]
) -> None:
    status, _, body = create(lambda_context, None, content_type=content_type, raw=raw)

    assert (status, body.get("error", {}).get("code")) == answer


def test_the_catalogue_is_cached_per_container_for_its_ttl(
    aws: LocalAws, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert create(lambda_context, VALID)[0] == 202
    EngineAdmin(aws.dynamodb, aws.jobs_table).disable("studio")

    assert create(lambda_context, VALID)[0] == 202  # within ENGINE_CACHE_SECONDS (30 s): not read again
    monkeypatch.setenv("ENGINE_CACHE_SECONDS", "0")
    reset_aws()
    assert create(lambda_context, VALID)[0] == 422


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/music", "must use https"),
        ("https://user:secret@hooks.example.com/music", "must not carry a user name or password"),
        ("https://169.254.169.254/latest/meta-data", "must not point at a link-local address"),
        ("https://[::ffff:10.0.0.1]/hook", "must not point at a private address"),
        ("https://localhost:8443/hook", "must not point at a loopback address"),
        ("https://hooks.example.com/" + "x" * 2100, "at most 2048 characters"),
    ],
)
def test_a_live_stage_refuses_webhook_urls_it_would_never_deliver_to(
    aws: LocalAws, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch, url: str, reason: str
) -> None:
    monkeypatch.setenv("API_KEY_ENVIRONMENT", "live")
    reset_aws()

    status, _, answer = create(lambda_context, {**VALID, "webhook_url": url})

    assert status == 400
    assert answer["error"]["details"]["field"] == "webhook_url"
    assert reason in answer["error"]["details"]["reason"]
    assert "secret" not in json.dumps(answer)


def test_a_webhook_url_is_stored_with_the_request_and_never_returned(
    aws: LocalAws, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_KEY_ENVIRONMENT", "live")
    reset_aws()
    url = "https://hooks.example.com/music?token=abc"

    status, _, job = create(lambda_context, {**VALID, "webhook_url": url})

    assert status == 202
    assert url not in json.dumps(job)
    read = get_handler(generation_event(ORG, job["id"]), lambda_context)
    assert "hooks.example.com" not in read["body"]
    item = aws.dynamodb.get_item(TableName=aws.jobs_table, Key=job_key(ORG, ALICE, job["id"]))["Item"]
    assert item["request"]["M"]["webhook_url"] == {"S": url}


def test_only_the_local_stack_takes_a_loopback_receiver(
    aws: LocalAws, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {**VALID, "webhook_url": "http://127.0.0.1:8765/hook"}
    assert create(lambda_context, body)[0] == 400  # a test stage on AWS: http, but never loopback
    monkeypatch.setenv("WEBHOOK_LOOPBACK_ALLOWED", "true")  # what the local stack sets
    reset_aws()
    assert create(lambda_context, body)[0] == 202


@pytest.mark.parametrize("number", ["9" * 5000, "-" + "9" * 5000])
def test_a_5000_digit_number_is_a_400_naming_the_field_not_a_500(
    aws: LocalAws, lambda_context: LambdaContext, number: str
) -> None:
    """Python refuses to convert an integer of over 4,300 digits with a plain ValueError, not a JSONDecodeError."""
    raw = json.dumps(VALID).replace('"duration_seconds": 60', f'"duration_seconds": {number}')

    status, _, answer = create(lambda_context, None, raw=raw)

    assert status == 400
    assert answer["error"]["code"] == "VALIDATION_ERROR"
    assert answer["error"]["details"]["field"] == "duration_seconds"
    assert "9" * 50 not in json.dumps(answer)
