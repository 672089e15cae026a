"""Every file in events/ is replayed through its function against the moto server.

Each event has its expectation here; an event without one fails the suite, so new events cannot go untested.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from authorizer.app import lambda_handler as authorizer_handler
from cancel_generation.app import lambda_handler as cancel_generation_handler
from create_generation.app import lambda_handler as create_generation_handler
from dispatch_sweeper.app import lambda_handler as dispatch_sweeper_handler
from get_generation.app import lambda_handler as get_generation_handler
from get_track.app import lambda_handler as get_track_handler
from list_engines.app import lambda_handler as list_engines_handler
from list_generations.app import lambda_handler as list_generations_handler
from music_api.jobs.writer import JobWriter, NewJob
from music_local.emulator import LocalAws
from music_local.gateway import LambdaContext
from music_local.iam import is_allowed
from tests.helpers.events import event_names, load_event
from tests.helpers.jobs import fixed_clock, job_ref
from tests.helpers.seed import ORG


@dataclass(frozen=True)
class Response:
    """What the get-generation handler answers."""

    status_code: int
    job_status: str | None = None
    error_code: str | None = None
    retry_after: str | None = None
    job_count: int | None = None  # a page of the list: how many jobs it holds
    replays: bool = False  # a create with an Idempotency-Key: sent again, the same job, replayed
    stems: tuple[str, ...] | None = None  # a track: the names of its stem URLs
    engines: tuple[str, ...] | None = None  # the engine listing: the keys it lists


@dataclass(frozen=True)
class Policy:
    """What the authorizer answers: the caller's organizations, and whether this request's ARN is allowed.
    ``organizations=None`` means the key is refused (``Unauthorized``, a 401 at the gateway)."""

    organizations: tuple[str, ...] | None
    allows_this_request: bool = False


@dataclass(frozen=True)
class Sweep:
    """What the dispatch sweeper answers: how many jobs it sent again and how many it failed."""

    redispatched: int
    unscheduled: int


EXPECTATIONS: dict[str, Response | Policy | Sweep] = {
    "get_generation_succeeded.json": Response(200, job_status="succeeded"),
    "get_generation_queued.json": Response(200, job_status="queued", retry_after="5"),
    "get_generation_running.json": Response(200, job_status="running", retry_after="2"),
    "get_generation_failed.json": Response(200, job_status="failed"),
    "get_generation_cancelled.json": Response(200, job_status="cancelled"),
    "get_generation_refused.json": Response(200, job_status="refused"),
    "get_generation_missing_job.json": Response(404, error_code="RESOURCE_NOT_FOUND"),
    "get_generation_other_users_job.json": Response(404, error_code="RESOURCE_NOT_FOUND"),
    "get_generation_other_organization.json": Response(403, error_code="ORGANIZATION_ACCESS_DENIED"),
    "get_generation_malformed_job_id.json": Response(400, error_code="VALIDATION_ERROR"),
    "get_generation_malformed_organization_id.json": Response(400, error_code="VALIDATION_ERROR"),
    "create_generation.json": Response(202, job_status="queued", retry_after="5"),
    "create_generation_idempotency_key.json": Response(202, job_status="queued", retry_after="5", replays=True),
    "create_generation_over_engine_maximum.json": Response(422, error_code="GENERATION_NOT_ALLOWED"),
    "create_generation_unknown_field.json": Response(400, error_code="VALIDATION_ERROR"),
    "create_generation_form_body.json": Response(415, error_code="UNSUPPORTED_MEDIA_TYPE"),
    "list_engines.json": Response(200, engines=("sketch", "studio")),  # demo.json's enabled ones
    "list_engines_other_organization.json": Response(403, error_code="ORGANIZATION_ACCESS_DENIED"),
    # Cancel: a queued job is cancelled at once, a running one is flagged (still running), a terminal one unchanged.
    "cancel_generation_queued.json": Response(200, job_status="cancelled"),
    "cancel_generation_running.json": Response(200, job_status="running", retry_after="2"),
    "cancel_generation_succeeded.json": Response(200, job_status="succeeded"),
    "cancel_generation_missing_job.json": Response(404, error_code="RESOURCE_NOT_FOUND"),
    "cancel_generation_other_users_job.json": Response(404, error_code="RESOURCE_NOT_FOUND"),
    # The list: Alice's demo jobs, newest first, without URLs; a status filter; an offset beyond the maximum.
    "list_generations.json": Response(200, job_count=10),
    "list_generations_status_filter.json": Response(200, job_count=1),
    "list_generations_offset_too_large.json": Response(400, error_code="VALIDATION_ERROR"),
    "list_generations_other_organization.json": Response(403, error_code="ORGANIZATION_ACCESS_DENIED"),
    # A track: Alice's demo track with two stems, Bob's without; Bob's asked for by Alice is a missing one.
    "get_track_with_stems.json": Response(200, stems=("drums", "vocals")),
    "get_track_without_stems.json": Response(200, stems=()),
    "get_track_missing_track.json": Response(404, error_code="RESOURCE_NOT_FOUND"),
    "get_track_other_users_track.json": Response(404, error_code="RESOURCE_NOT_FOUND"),
    "get_track_malformed_track_id.json": Response(400, error_code="VALIDATION_ERROR"),
    "authorizer_valid_key.json": Policy((ORG,), allows_this_request=True),
    "authorizer_other_organization.json": Policy((ORG,), allows_this_request=False),
    "authorizer_user_without_organizations.json": Policy(()),
    "authorizer_revoked_key.json": Policy(None),
    "authorizer_expired_key.json": Policy(None),
    "authorizer_unknown_key.json": Policy(None),
    "authorizer_malformed_key.json": Policy(None),
    "authorizer_missing_key.json": Policy(None),
    "authorizer_other_environment_key.json": Policy(None),
    # Against two queued jobs whose message was lost: one past the grace (sent again), one past the maximum wait.
    "dispatch_sweep.json": Sweep(redispatched=1, unscheduled=1),
}


def test_every_event_has_an_expectation() -> None:
    assert event_names() == sorted(EXPECTATIONS)


# Each job route's events, replayed through its own function under that function's role.
HANDLERS = {
    "get_generation_": (get_generation_handler, "GetGenerationFunction"),
    "cancel_generation_": (cancel_generation_handler, "CancelGenerationFunction"),
    "list_generations": (list_generations_handler, "ListGenerationsFunction"),
    "list_engines": (list_engines_handler, "ListEnginesFunction"),
    "get_track_": (get_track_handler, "GetTrackFunction"),
}


def job_route_events() -> list[Any]:
    return [
        pytest.param(name, marks=pytest.mark.runs_as(function))
        for name in event_names()
        for prefix, (_, function) in HANDLERS.items()
        if name.startswith(prefix)
    ]


@pytest.mark.parametrize("name", job_route_events())
def test_replayed_request_gives_the_expected_response(name: str, aws: LocalAws, lambda_context: LambdaContext) -> None:
    expected = EXPECTATIONS[name]
    assert isinstance(expected, Response)
    event = load_event(name)
    handler = next(handler for prefix, (handler, _) in HANDLERS.items() if name.startswith(prefix))

    response = handler(event, lambda_context)

    assert response["statusCode"] == expected.status_code
    headers = response["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Request-Id"] == f"req_{event['requestContext']['requestId']}"
    assert headers.get("Retry-After") == expected.retry_after
    body = json.loads(response["body"])
    if expected.job_count is not None:
        assert len(body["jobs"]) == expected.job_count
        assert {(job["playback_url"], job["track"]) for job in body["jobs"]} == {(None, None)}
        created = [job["created_at"] for job in body["jobs"]]
        assert created == sorted(created, reverse=True)
    elif expected.job_status is not None:
        assert body["id"] == event["pathParameters"]["job_id"]
        assert body["status"] == expected.job_status
        succeeded = expected.job_status == "succeeded"
        assert (body["playback_url"] is not None) is succeeded
        assert (body["track"] is not None) is succeeded
    elif expected.stems is not None:
        assert body["id"] == event["pathParameters"]["track_id"]
        assert body["playback_url"].startswith(f"{aws.endpoint}/{aws.bucket}/audio/")
        assert tuple(body["stem_urls"]) == expected.stems
    elif expected.engines is not None:
        assert tuple(engine["key"] for engine in body["engines"]) == expected.engines
    else:
        assert body["success"] is False
        assert body["error"]["code"] == expected.error_code
        assert body["error"]["status"] == expected.status_code
        assert body["error"]["trace_id"] == headers["X-Request-Id"]


@pytest.mark.runs_as("CreateGenerationFunction")
@pytest.mark.parametrize("name", [name for name in event_names() if name.startswith("create_generation")])
def test_replayed_create_request_gives_the_expected_response(
    name: str, aws: LocalAws, lambda_context: LambdaContext
) -> None:
    expected = EXPECTATIONS[name]
    assert isinstance(expected, Response)
    event = load_event(name)

    response = create_generation_handler(event, lambda_context)

    assert response["statusCode"] == expected.status_code
    assert response["headers"].get("Retry-After") == expected.retry_after
    body = json.loads(response["body"])
    if expected.job_status is not None:
        assert body["status"] == expected.job_status
        assert response["headers"]["Location"] == f"generations/{body['id']}"
        assert "Idempotent-Replayed" not in response["headers"]
    else:
        assert body["error"]["code"] == expected.error_code
    if expected.replays:
        again = create_generation_handler(event, lambda_context)
        assert (again["statusCode"], again["body"]) == (response["statusCode"], response["body"])
        assert again["headers"]["Location"] == response["headers"]["Location"]
        assert again["headers"]["Idempotent-Replayed"] == "true"


@pytest.mark.runs_as("AuthorizerFunction")
@pytest.mark.parametrize("name", [name for name in event_names() if name.startswith("authorizer_")])
def test_replayed_authorizer_request_gives_the_expected_policy(
    name: str, aws: LocalAws, lambda_context: LambdaContext
) -> None:
    expected = EXPECTATIONS[name]
    assert isinstance(expected, Policy)
    event = load_event(name)

    if expected.organizations is None:
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            authorizer_handler(event, lambda_context)
        return
    response: dict[str, Any] = authorizer_handler(event, lambda_context)

    assert response["context"]["organization_ids"] == ",".join(expected.organizations)
    assert is_allowed(response, event["methodArn"]) is expected.allows_this_request


@pytest.mark.runs_as("DispatchSweeperFunction")
@pytest.mark.parametrize("name", [name for name in event_names() if name.startswith("dispatch_")])
def test_replayed_schedule_sweeps_the_jobs_left_queued(name: str, aws: LocalAws, lambda_context: LambdaContext) -> None:
    expected = EXPECTATIONS[name]
    assert isinstance(expected, Sweep)
    now = datetime.now(UTC)
    for job_id, age in (("mgen_pastthegrace1", timedelta(minutes=5)), ("mgen_pastthewait01", timedelta(hours=1))):
        JobWriter(aws.dynamodb, aws.jobs_table, clock=fixed_clock(now - age)).create(
            NewJob(job_ref(job_id), "studio", "creation"), {}
        )

    result = dispatch_sweeper_handler(load_event(name), lambda_context)

    assert result == {
        "redispatched": expected.redispatched,
        "unscheduled": expected.unscheduled,
        "failed_sends": 0,
        "moved_on": 0,
        "stale": 0,
        "kept": 0,
    }
