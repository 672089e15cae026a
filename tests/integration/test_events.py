"""Every file in events/ is replayed through the real handler against the moto server.

Each event has its expectation here; an event without one fails the suite, so new events cannot go untested.
"""

import json
from dataclasses import dataclass

import pytest

from get_generation.app import lambda_handler
from tests.conftest import AwsStack, FakeLambdaContext, event_names, load_event


@dataclass(frozen=True)
class Expected:
    status_code: int
    job_status: str | None = None
    error_code: str | None = None
    retry_after: str | None = None


EXPECTATIONS = {
    "get_generation_succeeded.json": Expected(200, job_status="succeeded"),
    "get_generation_queued.json": Expected(200, job_status="queued", retry_after="5"),
    "get_generation_running.json": Expected(200, job_status="running", retry_after="2"),
    "get_generation_failed.json": Expected(200, job_status="failed"),
    "get_generation_cancelled.json": Expected(200, job_status="cancelled"),
    "get_generation_refused.json": Expected(200, job_status="refused"),
    "get_generation_missing_job.json": Expected(404, error_code="RESOURCE_NOT_FOUND"),
    "get_generation_other_users_job.json": Expected(404, error_code="RESOURCE_NOT_FOUND"),
    "get_generation_other_organization.json": Expected(403, error_code="ORGANIZATION_ACCESS_DENIED"),
    "get_generation_malformed_job_id.json": Expected(400, error_code="VALIDATION_ERROR"),
    "get_generation_malformed_organization_id.json": Expected(400, error_code="VALIDATION_ERROR"),
}


def test_every_event_has_an_expectation() -> None:
    assert event_names() == sorted(EXPECTATIONS)


@pytest.mark.parametrize("name", event_names())
def test_replayed_event_gives_the_expected_response(
    name: str, aws: AwsStack, lambda_context: FakeLambdaContext
) -> None:
    expected = EXPECTATIONS[name]
    event = load_event(name)

    response = lambda_handler(event, lambda_context)

    assert response["statusCode"] == expected.status_code
    headers = response["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Request-Id"] == f"req_{event['requestContext']['requestId']}"
    assert headers.get("Retry-After") == expected.retry_after
    body = json.loads(response["body"])
    if expected.job_status is not None:
        assert body["id"] == event["pathParameters"]["job_id"]
        assert body["status"] == expected.job_status
        succeeded = expected.job_status == "succeeded"
        assert (body["playback_url"] is not None) is succeeded
        assert (body["track"] is not None) is succeeded
    else:
        assert body["success"] is False
        assert body["error"]["code"] == expected.error_code
        assert body["error"]["status"] == expected.status_code
        assert body["error"]["trace_id"] == headers["X-Request-Id"]
