"""Idempotency of POST /generations against the moto server: one job per organization + user + key.

Create's handler is invoked directly under its own role (IAM enforced: Powertools' calls need the template's
policy); the race runs both as concurrent invocations and through the local API on loopback."""

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from create_generation.app import lambda_handler as create_handler
from music_admin.engines import EngineAdmin
from music_api.core.aws import dynamodb_client
from music_api.jobs.store import owner_key
from music_local.emulator import LocalAws
from music_local.gateway import LambdaContext, LocalGateway
from music_local.metering import UsagePlanMeter
from music_local.server import LocalApiServer, serve
from music_local.stack import local_functions
from music_local.template import local_template
from tests.helpers.aws import reset_aws
from tests.helpers.events import load_event
from tests.helpers.seed import ALICE, ALICE_KEY, BOB, CAROL, ORG, OTHER_ORG
from tests.helpers.world import DYNAMODB_LOCAL

pytestmark = [pytest.mark.runs_as("CreateGenerationFunction"), pytest.mark.dynamodb(DYNAMODB_LOCAL)]

VALID = {"engine": "studio", "prompt": "Warm lo-fi piano", "duration_seconds": 60}
KEY = "order-7f3a9c21"


def create(
    lambda_context: LambdaContext,
    body: dict[str, Any],
    *,
    key: str | list[str] | None = KEY,
    user_id: str = ALICE,
    organization_id: str = ORG,
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """One create as API Gateway passes it on: ``key`` is the Idempotency-Key header (a list: sent that often)."""
    event = load_event("create_generation.json")
    event["body"] = json.dumps(body)
    event["pathParameters"]["organization_id"] = organization_id
    event["requestContext"]["authorizer"].update(
        user_id=user_id, principalId=user_id, organization_ids=f"{ORG},{OTHER_ORG}"
    )
    if key is not None:
        values = key if isinstance(key, list) else [key]
        event["headers"]["Idempotency-Key"] = values[-1]
        event["multiValueHeaders"]["Idempotency-Key"] = values
    response = create_handler(event, lambda_context)
    return response["statusCode"], response["headers"], json.loads(response["body"])


def job_ids(aws: LocalAws, user_id: str = ALICE, organization_id: str = ORG) -> set[str]:
    """Every job of the caller, read from the table as the administrator."""
    items = aws.dynamodb.query(
        TableName=aws.jobs_table,
        KeyConditionExpression="pk = :owner",
        ExpressionAttributeValues={":owner": {"S": owner_key(organization_id, user_id)}},
    )["Items"]
    return {item["id"]["S"] for item in items}


def idempotency_records(aws: LocalAws) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = aws.dynamodb.scan(TableName=aws.idempotency_table)["Items"]
    return items


def test_a_replay_answers_the_first_job_and_creates_nothing(aws: LocalAws, lambda_context: LambdaContext) -> None:
    before = job_ids(aws)

    first = create(lambda_context, VALID)
    replay = create(lambda_context, VALID)

    assert first[0] == replay[0] == 202
    assert replay[2] == first[2]
    assert replay[1]["Location"] == first[1]["Location"] == f"generations/{first[2]['id']}"
    assert replay[1]["Retry-After"] == "5"
    assert replay[1]["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first[1]
    assert job_ids(aws) - before == {first[2]["id"]}
    (record,) = idempotency_records(aws)
    assert record["status"] == {"S": "COMPLETED"}


def test_without_a_key_nothing_is_recorded_and_each_request_creates(
    aws: LocalAws, lambda_context: LambdaContext
) -> None:
    before = job_ids(aws)

    first = create(lambda_context, VALID, key=None)[2]["id"]
    second = create(lambda_context, VALID, key=None)[2]["id"]

    assert job_ids(aws) - before == {first, second}
    assert idempotency_records(aws) == []


def test_the_body_field_is_a_key_too_and_the_header_wins_over_it(aws: LocalAws, lambda_context: LambdaContext) -> None:
    by_body = create(lambda_context, {**VALID, "idempotency_key": "body-key-0001"}, key=None)[2]["id"]
    # The same key by header: the same request (where the key came from is no part of the body compared).
    assert create(lambda_context, VALID, key="body-key-0001")[2]["id"] == by_body
    # Header and body disagree: the header's key counts, so this is a new job under "header-key-0001" ...
    by_header = create(lambda_context, {**VALID, "idempotency_key": "body-key-0001"}, key="header-key-0001")
    assert by_header[0] == 202
    assert "Idempotent-Replayed" not in by_header[1]
    # ... which another body key does not change.
    again = create(lambda_context, {**VALID, "idempotency_key": "body-key-0002"}, key="header-key-0001")
    assert (again[2]["id"], again[1]["Idempotent-Replayed"]) == (by_header[2]["id"], "true")


def test_the_body_is_compared_normalized(aws: LocalAws, lambda_context: LambdaContext) -> None:
    first = create(lambda_context, VALID)[2]["id"]

    spelled_out = create(lambda_context, {"duration_seconds": 60, **VALID, "mode": "creation", "instrumental": False})

    assert (spelled_out[0], spelled_out[2]["id"]) == (202, first)


@pytest.mark.parametrize(
    ("key", "field"), [(KEY, "Idempotency-Key"), (None, "idempotency_key")], ids=["header", "body field"]
)
def test_the_same_key_with_another_body_is_refused_and_creates_nothing(
    aws: LocalAws, lambda_context: LambdaContext, key: str | None, field: str
) -> None:
    body_key = {} if key else {"idempotency_key": KEY}
    first = create(lambda_context, {**VALID, **body_key}, key=key)[2]["id"]
    before = job_ids(aws)

    status, headers, answer = create(lambda_context, {**VALID, **body_key, "duration_seconds": 61}, key=key)

    assert status == 409
    assert answer["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert answer["error"]["type"] == "client_error"
    assert answer["error"]["details"] == {"field": field, "reason": "was already used with a different request body"}
    assert "Retry-After" not in headers
    assert job_ids(aws) == before
    assert create(lambda_context, {**VALID, **body_key}, key=key)[2]["id"] == first  # the key still answers


@pytest.mark.parametrize(
    "key",
    [
        "short",
        "k" * 129,
        "has space-0001",
        "ünïcode-key-0001",
        "",
        ["order-0000001", "order-0000002"],
    ],
    ids=["too short", "too long", "space", "non-ascii", "empty", "sent twice"],
)
def test_a_bad_header_is_a_400_naming_it_and_creates_nothing(
    aws: LocalAws, lambda_context: LambdaContext, key: str | list[str]
) -> None:
    before = job_ids(aws)

    status, _, answer = create(lambda_context, VALID, key=key)

    assert status == 400
    assert answer["error"]["code"] == "VALIDATION_ERROR"
    assert answer["error"]["details"]["field"] == "Idempotency-Key"
    assert answer["error"]["system_message"] == "Invalid header parameter: Idempotency-Key"
    assert job_ids(aws) == before
    assert idempotency_records(aws) == []


def test_a_key_is_the_callers_own(aws: LocalAws, lambda_context: LambdaContext) -> None:
    """The same key from another user, or from the same user in another organization, is another request."""
    alice = create(lambda_context, VALID)[2]["id"]

    bob = create(lambda_context, VALID, user_id=BOB)
    alice_elsewhere = create(lambda_context, VALID, organization_id=OTHER_ORG)
    carol = create(lambda_context, VALID, user_id=CAROL, organization_id=OTHER_ORG)

    answers = [bob, alice_elsewhere, carol]
    assert [(status, "Idempotent-Replayed" in headers) for status, headers, _ in answers] == [(202, False)] * 3
    assert len({alice, *(job["id"] for _, _, job in answers)}) == 4
    assert job_ids(aws, BOB) >= {bob[2]["id"]}
    assert alice not in job_ids(aws, BOB)
    assert create(lambda_context, VALID)[2]["id"] == alice


def test_a_refused_first_attempt_leaves_the_key_free(aws: LocalAws, lambda_context: LambdaContext) -> None:
    """A 422 records nothing: the same request runs again (and is refused again, not replayed), and a corrected
    body with the same key creates the job."""
    too_long = {**VALID, "engine": "sketch", "duration_seconds": 31}

    assert create(lambda_context, too_long)[2]["error"]["code"] == "GENERATION_NOT_ALLOWED"
    assert create(lambda_context, too_long)[2]["error"]["code"] == "GENERATION_NOT_ALLOWED"
    assert idempotency_records(aws) == []
    status, headers, job = create(lambda_context, {**too_long, "duration_seconds": 30})

    assert (status, "Idempotent-Replayed" in headers) == (202, False)
    assert job_ids(aws) >= {job["id"]}


def test_a_key_refused_by_the_catalogue_runs_again_once_the_operator_enables_the_engine(
    aws: LocalAws, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = EngineAdmin(aws.dynamodb, aws.jobs_table)
    (studio,) = [engine for engine in admin.all() if engine.key == "studio"]
    admin.disable("studio")
    monkeypatch.setenv("ENGINE_CACHE_SECONDS", "0")
    reset_aws()

    assert create(lambda_context, VALID)[0] == 422
    admin.put(studio)

    assert create(lambda_context, VALID)[0] == 202


def _jobs_table_put(aws: LocalAws, params: dict[str, Any]) -> bool:
    return bool(params.get("TableName") == aws.jobs_table)


def test_a_failed_first_attempt_leaves_the_key_free(aws: LocalAws, lambda_context: LambdaContext) -> None:
    """The job write throttled (a 503): the retry with the same key creates the job, once."""
    throttled: list[str] = []

    def throttle(params: dict[str, Any], **_: Any) -> None:
        """The job write fails as DynamoDB's throttling does once botocore's retries are spent."""
        if _jobs_table_put(aws, params) and not throttled:
            throttled.append(params["TableName"])
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}
            raise ClientError(error, "PutItem")  # type: ignore[arg-type]

    before = job_ids(aws)
    dynamodb_client().meta.events.register("provide-client-params.dynamodb.PutItem", throttle)

    failed = create(lambda_context, VALID)
    retried = create(lambda_context, VALID)

    assert (failed[0], failed[2]["error"]["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert (retried[0], "Idempotent-Replayed" in retried[1]) == (202, False)
    assert job_ids(aws) - before == {retried[2]["id"]}


def lose_the_record_after_the_job_write(aws: LocalAws) -> None:
    """The first attempt writes its job, then cannot mark its record completed (the table throttles the update):
    it answers 503 and its in-progress record lives until the invocation's deadline."""
    failed: list[bool] = []

    def throttle(params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == aws.idempotency_table and not failed:
            failed.append(True)
            error = {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}
            raise ClientError(error, "UpdateItem")  # type: ignore[arg-type]

    dynamodb_client().meta.events.register("provide-client-params.dynamodb.UpdateItem", throttle)


def let_the_in_progress_record_expire(aws: LocalAws) -> None:
    """What the invocation's deadline does to the record the first attempt left in progress: it stops answering."""
    for record in idempotency_records(aws):
        aws.dynamodb.delete_item(TableName=aws.idempotency_table, Key={"id": record["id"]})


def test_a_retry_after_the_record_was_lost_answers_the_first_attempts_job(
    aws: LocalAws, lambda_context: LambdaContext
) -> None:
    """The job's id follows from the caller and the key: the retry finds the job its first attempt wrote, and
    creates no second one."""
    before = job_ids(aws)
    lose_the_record_after_the_job_write(aws)

    failed = create(lambda_context, VALID)
    (first_job,) = job_ids(aws) - before
    let_the_in_progress_record_expire(aws)
    retried = create(lambda_context, VALID)

    assert (failed[0], failed[2]["error"]["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert (retried[0], retried[2]["id"], retried[2]["status"]) == (202, first_job, "queued")
    assert job_ids(aws) - before == {first_job}
    assert create(lambda_context, VALID)[2]["id"] == first_job  # and now the record answers: a replay


def test_after_the_record_was_lost_another_body_with_the_key_is_still_refused(
    aws: LocalAws, lambda_context: LambdaContext
) -> None:
    before = job_ids(aws)
    lose_the_record_after_the_job_write(aws)
    create(lambda_context, VALID)
    let_the_in_progress_record_expire(aws)

    status, _, answer = create(lambda_context, {**VALID, "duration_seconds": 90})

    assert (status, answer["error"]["code"], answer["error"]["details"]["field"]) == (
        409,
        "IDEMPOTENCY_KEY_REUSED",
        "Idempotency-Key",
    )
    assert len(job_ids(aws) - before) == 1


def test_an_unavailable_idempotency_table_is_a_503_and_creates_nothing(
    aws: LocalAws, lambda_context: LambdaContext
) -> None:
    """Retrying with the same key is always safe, so any failure of the records' table is the retryable 503."""

    def throttle(params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == aws.idempotency_table:
            error = {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}
            raise ClientError(error, "PutItem")  # type: ignore[arg-type]

    before = job_ids(aws)
    dynamodb_client().meta.events.register("provide-client-params.dynamodb.PutItem", throttle)

    status, headers, answer = create(lambda_context, VALID)

    assert (status, answer["error"]["code"], headers["Retry-After"]) == (503, "SERVICE_UNAVAILABLE", "1")
    assert aws.idempotency_table not in json.dumps(answer)
    assert job_ids(aws) == before


def test_a_request_while_the_first_is_in_progress_is_told_to_retry(
    aws: LocalAws, lambda_context: LambdaContext
) -> None:
    """The first request holds the key while its job write is under way; the second is the retryable 409, and
    its retry after the first has finished is the replay."""
    writing, release = threading.Event(), threading.Event()

    def hold_the_job_write(params: dict[str, Any], **_: Any) -> None:
        if _jobs_table_put(aws, params) and not writing.is_set():
            writing.set()
            release.wait(timeout=10)

    dynamodb_client().meta.events.register("provide-client-params.dynamodb.PutItem", hold_the_job_write)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(create, lambda_context, VALID)
        assert writing.wait(timeout=10)
        status, headers, answer = create(lambda_context, VALID)
        release.set()
        created = first.result(timeout=10)

    assert (status, headers["Retry-After"]) == (409, "1")
    assert answer["error"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
    assert answer["error"]["details"]["field"] == "Idempotency-Key"
    assert created[0] == 202
    retried = create(lambda_context, VALID)
    assert (retried[0], retried[2]["id"], retried[1]["Idempotent-Replayed"]) == (202, created[2]["id"], "true")


# The ten share one process, so one's metrics flush may empty another's (ten containers would not share them).
@pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
def test_ten_concurrent_invocations_with_one_key_make_one_job(aws: LocalAws, lambda_context: LambdaContext) -> None:
    """Ten invocations of create running at once (as ten Lambda containers would), one key: the idempotency
    record's conditional put lets exactly one of them write a job; each other answer is that job replayed or the
    retryable 409, never a second job."""
    before = job_ids(aws)
    start = threading.Barrier(10)

    def racer(_: int) -> tuple[int, dict[str, str], dict[str, Any]]:
        start.wait(timeout=10)
        return create(lambda_context, VALID, key="race-key-direct")

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(racer, range(10)))

    (created,) = job_ids(aws) - before
    first_answers = [
        body for status, headers, body in answers if status == 202 and "Idempotent-Replayed" not in headers
    ]
    assert [body["id"] for body in first_answers] == [created]
    for status, headers, body in answers:
        if status == 202:
            assert body["id"] == created
        else:
            assert (status, body["error"]["code"], headers["Retry-After"]) == (409, "IDEMPOTENCY_KEY_IN_USE", "1")


@pytest.fixture
def local_api_url(aws: LocalAws) -> Iterator[str]:
    """The local API (gateway, authorizer, usage plans, every function under its own role) on a loopback port."""
    template = local_template()
    gateway = LocalGateway(template, local_functions(template, aws), UsagePlanMeter(aws.apigateway))
    server = LocalApiServer(0, gateway)
    thread = threading.Thread(target=serve, args=(server,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(timeout=10)


def post(url: str, key: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{url}/v1/music/{ORG}/generations",
        data=json.dumps(VALID).encode(),
        headers={"X-API-Key": ALICE_KEY, "Content-Type": "application/json", "Idempotency-Key": key},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_ten_parallel_requests_with_one_key_make_one_job(aws: LocalAws, local_api_url: str) -> None:
    """Through the local API, ten threads at once: exactly one job; every answer is that job or the retryable
    409. (The local gateway runs one invocation at a time, as one Lambda container does: the in-progress 409
    between two running invocations is the test above.)"""
    before = job_ids(aws)
    start = threading.Barrier(10)

    def racer(_: int) -> tuple[int, dict[str, str], dict[str, Any]]:
        start.wait(timeout=10)
        return post(local_api_url, "race-key-0001")

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(racer, range(10)))

    (created,) = job_ids(aws) - before
    for status, headers, body in answers:
        if status == 202:
            assert body["id"] == created
        else:
            assert (status, body["error"]["code"], headers["Retry-After"]) == (409, "IDEMPOTENCY_KEY_IN_USE", "1")
    assert sum(status == 202 and "Idempotent-Replayed" not in headers for status, headers, _ in answers) == 1


FIELD_CHANGES = {
    "engine": "sketch",
    "prompt": "Another prompt",
    "duration_seconds": 30,
    "mode": "focus",
    "instrumental": True,
    "lyrics": "la la la",
    "seed_track_id": "mtrack_7c1a9e2f4b8d",
    "style_tags": ["ambient"],
    "title": "Another title",
}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(sorted(FIELD_CHANGES)), key_suffix=st.integers(min_value=0, max_value=10**9))
def test_any_two_bodies_differing_in_one_field_cannot_share_a_key(
    aws: LocalAws, lambda_context: LambdaContext, field: str, key_suffix: int
) -> None:
    key = f"prop-{key_suffix:010d}"
    first = create(lambda_context, {**VALID, "duration_seconds": 20}, key=key)
    before = job_ids(aws)

    second = create(lambda_context, {**VALID, "duration_seconds": 20, field: FIELD_CHANGES[field]}, key=key)

    assert first[0] == 202
    assert (second[0], second[2]["error"]["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
    assert job_ids(aws) == before
