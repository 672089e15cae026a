"""Faults in what the handler depends on end in the envelope (503 or 500), never in internals."""

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import NoCredentialsError

from get_generation.app import lambda_handler
from music_api.core.aws import dynamodb_client
from music_api.core.dynamodb import to_item
from music_api.jobs.store import job_key
from music_local.emulator import LocalAws
from music_local.gateway import LambdaContext
from music_local.template import default_template
from tests.helpers.aws import JOBS_TABLE, reset_aws
from tests.helpers.events import load_event
from tests.helpers.seed import ALICE, JOBS, ORG, SEED_JOB_ID

pytestmark = pytest.mark.runs_as("GetGenerationFunction")

# What must never reach a client: resource names, exception text, code locations.
INTERNALS = (JOBS_TABLE, "Traceback", "botocore", "pydantic", "music_api", ".py", "ORG#", "JOB#")


class _Body:
    def __init__(self, payload: bytes) -> None:
        self._payload = payload

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._payload


def respond_to_get_item(status: int, error_type: str) -> tuple[list[int], Any]:
    """A botocore ``before-send`` hook answering GetItem with a DynamoDB error, and its call counter."""
    calls: list[int] = []

    def hook(request: Any, **_: Any) -> AWSResponse:
        calls.append(1)
        payload = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{error_type}", "message": "x"})
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "FAULT"}
        return AWSResponse(request.url, status, HTTPHeaders.from_dict(headers), _Body(payload.encode()))

    return calls, hook


def assert_envelope(response: dict[str, Any], status: int, code: str) -> dict[str, Any]:
    assert response["statusCode"] == status
    body: dict[str, Any] = json.loads(response["body"])
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["error"]["trace_id"] == response["headers"]["X-Request-Id"]
    for internal in INTERNALS:
        assert internal not in response["body"], internal
    return body


@pytest.mark.parametrize(
    ("status", "error_type", "attempts"),
    [
        # standard retry mode, AWS_MAX_ATTEMPTS default: throttling and 5xx are retried, then given up on
        (400, "ProvisionedThroughputExceededException", 3),
        (400, "ThrottlingException", 3),
        (500, "InternalServerError", 3),
        (503, "ServiceUnavailable", 3),
        # not retried by botocore; the next container (or refresh) brings fresh credentials
        (400, "ExpiredTokenException", 1),
    ],
)
def test_throttled_or_failing_dynamodb_answers_503_after_bounded_retries(
    aws: LocalAws, lambda_context: LambdaContext, status: int, error_type: str, attempts: int
) -> None:
    calls, hook = respond_to_get_item(status, error_type)
    dynamodb_client().meta.events.register("before-send.dynamodb.GetItem", hook)

    response = lambda_handler(load_event("get_generation_succeeded.json"), lambda_context)

    assert_envelope(response, 503, "SERVICE_UNAVAILABLE")
    assert response["headers"]["Retry-After"] == "1"
    assert len(calls) == attempts


def test_unreachable_dynamodb_answers_503(monkeypatch: pytest.MonkeyPatch, lambda_context: LambdaContext) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    reset_aws()

    response = lambda_handler(load_event("get_generation_succeeded.json"), lambda_context)

    assert_envelope(response, 503, "SERVICE_UNAVAILABLE")
    assert response["headers"]["Retry-After"] == "1"


def test_a_missing_table_is_a_500_that_does_not_name_it(aws: LocalAws, lambda_context: LambdaContext) -> None:
    aws.dynamodb.delete_table(TableName=aws.jobs_table)

    response = lambda_handler(load_event("get_generation_succeeded.json"), lambda_context)

    body = assert_envelope(response, 500, "INTERNAL_ERROR")
    assert body["error"]["message"] == "An unexpected error occurred. Please try again later."
    assert "Retry-After" not in response["headers"]


def test_invalid_settings_are_a_500(monkeypatch: pytest.MonkeyPatch, lambda_context: LambdaContext) -> None:
    monkeypatch.setenv("PLAYBACK_URL_TTL_SECONDS", "86400")

    response = lambda_handler(load_event("get_generation_succeeded.json"), lambda_context)

    assert_envelope(response, 500, "INTERNAL_ERROR")


SEED = JOBS[0]
SEED_TRACK = SEED["track"]


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param({k: v for k, v in SEED.items() if k != "status"}, id="missing-status"),
        pytest.param({**SEED, "status": "paused"}, id="unknown-status"),
        pytest.param({**SEED, "progress": 150}, id="progress-out-of-range"),
        pytest.param({**SEED, "progress": "100"}, id="progress-is-a-string"),
        pytest.param({**SEED, "created_at": "2026-06-28T10:30:00"}, id="naive-created-at"),
        pytest.param({**SEED, "created_at": "yesterday"}, id="unparseable-created-at"),
        pytest.param({k: v for k, v in SEED.items() if k != "track"}, id="succeeded-without-track"),
        pytest.param({**SEED, "result_track_id": "mtrack_000000000000"}, id="result-track-mismatch"),
        pytest.param({**SEED, "track": {**SEED_TRACK, "instrumental": "yes"}}, id="instrumental-not-bool"),
        pytest.param({**SEED, "track": {**SEED_TRACK, "audio_key": "private/master.mp3"}}, id="key-off-prefix"),
        pytest.param({**SEED, "track": {**SEED_TRACK, "mime_type": "text/html"}}, id="not-audio"),
        pytest.param({**SEED, "organization_id": "org_xyz789"}, id="attributes-disagree-with-key"),
    ],
)
def test_corrupt_items_are_500_with_nothing_internal_in_the_body(
    aws: LocalAws, lambda_context: LambdaContext, corrupt: dict[str, Any]
) -> None:
    aws.dynamodb.put_item(TableName=aws.jobs_table, Item=job_key(ORG, ALICE, SEED_JOB_ID) | to_item(corrupt))

    response = lambda_handler(load_event("get_generation_succeeded.json"), lambda_context)

    body = assert_envelope(response, 500, "INTERNAL_ERROR")
    assert body["error"]["details"] == {}
    assert body["error"]["system_message"] == "Internal server error"


def test_the_seed_item_itself_is_not_corrupt(aws: LocalAws, lambda_context: LambdaContext) -> None:
    """Guards the corrupt-item cases above: each differs from a valid item in one way only."""
    response = lambda_handler(load_event("get_generation_succeeded.json"), lambda_context)

    assert response["statusCode"] == 200
    assert (SEED["user_id"], SEED["organization_id"], SEED["id"]) == (ALICE, ORG, SEED_JOB_ID)


def test_a_stalling_dynamodb_ends_in_503_within_the_function_timeout(
    monkeypatch: pytest.MonkeyPatch, lambda_context: LambdaContext
) -> None:
    """An endpoint that accepts connections and never answers: read timeouts, bounded retries, then 503."""
    timeout = default_template().document["Globals"]["Function"]["Timeout"]
    with socket.socket() as stalling:
        stalling.bind(("127.0.0.1", 0))
        stalling.listen(8)
        monkeypatch.delenv("AWS_READ_TIMEOUT_SECONDS")  # the production budget: 1.5 s per attempt
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{stalling.getsockname()[1]}")
        reset_aws()
        started = time.monotonic()

        response = lambda_handler(load_event("get_generation_succeeded.json"), lambda_context)

        elapsed = time.monotonic() - started
    assert_envelope(response, 503, "SERVICE_UNAVAILABLE")
    assert elapsed < timeout  # a correctness bound (Lambda would kill the request), not a speed target


def test_a_presign_failure_is_503(
    aws: LocalAws, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_: Any, **__: Any) -> None:
        raise NoCredentialsError

    monkeypatch.setattr(S3SigV4QueryAuth, "add_auth", fail)

    response = lambda_handler(load_event("get_generation_succeeded.json"), lambda_context)

    assert_envelope(response, 503, "SERVICE_UNAVAILABLE")
    assert response["headers"]["Retry-After"] == "1"
