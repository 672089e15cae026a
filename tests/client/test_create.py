"""generations.create against a scripted server: the body, one idempotency key per call sent unchanged on every
retry, which answers are retried (429, 5xx, no answer, 409 key in use) and which never are."""

import json
import re

import pytest

from freddy_music import (
    APIConnectionError,
    APIError,
    ConflictError,
    GenerationJob,
    IdempotencyKeyInUseError,
    IdempotencyKeyReusedError,
    ServiceUnavailableError,
    ValidationError,
)
from freddy_music._flows import DEFAULT_MAX_RETRIES
from freddy_music.models import JobStatus
from tests.helpers.client import JOB, ORG, Flavour, VirtualTime, envelope, job_body
from tests.helpers.scripted_server import Answer, Received, ScriptedServer

GENERATIONS_PATH = f"/v1/music/{ORG}/generations"
MAX_CREATE_ATTEMPTS = 1 + DEFAULT_MAX_RETRIES
# The API's rule for a key (docs/api-reference.md): what every key the client makes must match.
KEY_FORMAT = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")
CREATED = Answer(202, job_body("queued", 0), {"Location": f"generations/{JOB}", "Retry-After": "5"})
IN_USE = Answer(409, envelope(409, "IDEMPOTENCY_KEY_IN_USE", "client_error"), {"Retry-After": "1"})
REUSED = Answer(409, envelope(409, "IDEMPOTENCY_KEY_REUSED", "client_error"))
UNAVAILABLE = Answer(503, envelope(503, "SERVICE_UNAVAILABLE", "server_error"))


def create(flavour: Flavour, **options: object) -> GenerationJob:
    job: GenerationJob = flavour.call(
        lambda client: client.generations.create(
            ORG, engine="studio", prompt="calm piano for studying", duration_seconds=30, **options
        ),
        **({"timeout": 0.5} if flavour.time is not None else {}),  # a lost answer costs half a second, not 30
    )
    return job


def keys(requests: list[Received]) -> list[str]:
    return [request.headers["Idempotency-Key"] for request in requests]


def test_create_posts_the_fields_with_a_new_key_and_returns_the_queued_job(
    flavour: Flavour, server: ScriptedServer
) -> None:
    server.script(GENERATIONS_PATH, CREATED)

    job = flavour.call(
        lambda client: client.generations.create(
            ORG,
            engine="studio",
            prompt="calm piano for studying",
            duration_seconds=30,
            title="Late Night Study",
            style_tags=["lofi"],
            lyrics=None,
        )
    )

    assert (job.id, job.status, job.progress, job.track) == (JOB, JobStatus.QUEUED, 0, None)
    (request,) = server.received
    assert (request.method, request.path) == ("POST", GENERATIONS_PATH)
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {
        "engine": "studio",
        "prompt": "calm piano for studying",
        "duration_seconds": 30,
        "mode": "creation",
        "instrumental": False,
        "title": "Late Night Study",
        "style_tags": ["lofi"],
    }
    assert KEY_FORMAT.match(request.headers["Idempotency-Key"])


def test_each_call_gets_a_key_of_its_own_and_a_given_key_is_sent_as_it_is(
    flavour: Flavour, server: ScriptedServer
) -> None:
    server.script(GENERATIONS_PATH, CREATED)

    create(flavour)
    create(flavour)
    create(flavour, idempotency_key="order-1234:track.7")

    first, second, given = keys(server.received)
    assert first != second
    assert given == "order-1234:track.7"


def test_every_retry_sends_the_same_key_and_body(
    paced: Flavour, virtual_server: ScriptedServer, virtual_time: VirtualTime
) -> None:
    virtual_server.script(
        GENERATIONS_PATH,
        Answer(429, envelope(429, "RATE_LIMIT_EXCEEDED", "rate_limit_error"), {"Retry-After": "3"}),
        UNAVAILABLE,
        Answer(stall=True),  # the request arrives, its answer never does
        IN_USE,
        CREATED,
    )

    job = create(paced)

    assert job.id == JOB
    attempts = virtual_server.requests_to(GENERATIONS_PATH)
    assert len(attempts) == MAX_CREATE_ATTEMPTS
    assert len(set(keys(attempts))) == 1
    assert len({request.body for request in attempts}) == 1
    after_429, after_503, after_no_answer, after_in_use = virtual_time.sleeps
    assert after_429 >= 3, "never sooner than the answer's Retry-After"
    assert 1 <= after_503 <= 2
    assert 2 <= after_no_answer <= 4
    assert after_in_use >= 1


def test_a_key_in_use_is_retried_after_its_retry_after(
    paced: Flavour, virtual_server: ScriptedServer, virtual_time: VirtualTime
) -> None:
    virtual_server.script(GENERATIONS_PATH, IN_USE, IN_USE, CREATED)

    job = create(paced)

    assert job.status == JobStatus.QUEUED
    assert len(virtual_server.received) == 3
    assert all(pause >= 1 for pause in virtual_time.sleeps)
    assert len(virtual_time.sleeps) == 2


@pytest.mark.parametrize(
    ("answer", "exception", "code"),
    [
        (REUSED, IdempotencyKeyReusedError, "IDEMPOTENCY_KEY_REUSED"),
        (Answer(409, envelope(409, "CONFLICT", "client_error")), ConflictError, "CONFLICT"),
        (Answer(400, envelope(400, "VALIDATION_ERROR", "client_error", field="prompt")), ValidationError, None),
        (Answer(422, envelope(422, "VALIDATION_ERROR", "client_error", field="engine")), ValidationError, None),
    ],
    ids=["key-reused", "other-conflict", "400", "422"],
)
def test_refusals_are_raised_at_once_without_a_retry(
    paced: Flavour,
    virtual_server: ScriptedServer,
    virtual_time: VirtualTime,
    *,
    answer: Answer,
    exception: type[APIError],
    code: str | None,
) -> None:
    virtual_server.script(GENERATIONS_PATH, answer, CREATED)

    with pytest.raises(exception) as raised:
        create(paced)

    assert not isinstance(raised.value, IdempotencyKeyInUseError)
    assert code is None or raised.value.code == code
    assert len(virtual_server.received) == 1
    assert virtual_time.sleeps == []


@pytest.mark.parametrize(
    ("answer", "exception"),
    [(UNAVAILABLE, ServiceUnavailableError), (IN_USE, IdempotencyKeyInUseError), (Answer(stall=True), None)],
    ids=["503", "key-in-use", "no-answer"],
)
def test_a_create_that_keeps_failing_raises_its_last_error_after_the_last_attempt(
    paced: Flavour, virtual_server: ScriptedServer, answer: Answer, exception: type[Exception] | None
) -> None:
    virtual_server.script(GENERATIONS_PATH, answer)

    with pytest.raises(exception or APIConnectionError):
        create(paced)

    assert len(set(keys(virtual_server.received))) == 1
    assert len(virtual_server.received) == MAX_CREATE_ATTEMPTS
