"""generations.wait: pacing by Retry-After, retries within the deadline, typed ends. Both clients, virtual time,
except the tests marked real time."""

import itertools
import time

import pytest

from freddy_music import (
    APIConnectionError,
    AuthenticationError,
    Client,
    ConflictError,
    GenerationJob,
    JobCancelledError,
    JobFailedError,
    JobRefusedError,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
    ValidationError,
    WaitTimeoutError,
)
from freddy_music.errors import APIError, JobError
from tests.helpers.client import API_KEY, JOB, JOB_PATH, ORG, Flavour, VirtualTime, envelope, job_answer
from tests.helpers.scripted_server import Answer, ScriptedServer


def request_times(server: ScriptedServer) -> list[float]:
    return [request.at for request in server.requests_to(JOB_PATH)]


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def test_every_answer_saying_retry_after_2_is_polled_once_per_2_seconds(
    paced: Flavour, virtual_server: ScriptedServer, virtual_time: VirtualTime
) -> None:
    virtual_server.script(JOB_PATH, job_answer("running", retry_after="2"))

    with pytest.raises(WaitTimeoutError) as raised:
        paced.wait(timeout=11, poll_interval_floor=0.5)

    assert request_times(virtual_server) == [0, 2, 4, 6, 8, 10]
    assert virtual_time.now == 10, "gave up as soon as the next poll would fall after the deadline"
    assert raised.value.last_job is not None
    assert raised.value.last_job.status == "running"


def test_every_answer_saying_retry_after_2_is_polled_once_per_2_seconds_in_real_time(server: ScriptedServer) -> None:
    server.script(JOB_PATH, job_answer("running", retry_after="2"))
    started = time.monotonic()

    with Client(API_KEY, base_url=server.url) as client, pytest.raises(WaitTimeoutError):
        client.generations.wait(ORG, JOB, timeout=4.5)

    elapsed = time.monotonic() - started
    times = request_times(server)
    assert len(times) == 3  # at 0, 2 and 4 s; the next would be at 6 s, after the deadline
    assert len(times) <= 1 + elapsed / 2
    assert min(gaps(times)) >= 2.0
    assert elapsed < 4.5


def test_without_retry_after_the_floor_paces_polls(paced: Flavour, virtual_server: ScriptedServer) -> None:
    virtual_server.script(JOB_PATH, job_answer("queued", progress=0))

    with pytest.raises(WaitTimeoutError):
        paced.wait(timeout=5, poll_interval_floor=1.5)

    assert request_times(virtual_server) == [0, 1.5, 3.0, 4.5]


def test_a_retry_after_below_the_floor_does_not_speed_polls_up(paced: Flavour, virtual_server: ScriptedServer) -> None:
    virtual_server.script(JOB_PATH, job_answer("running", retry_after="0"))

    with pytest.raises(WaitTimeoutError):
        paced.wait(timeout=3.5)

    assert request_times(virtual_server) == [0, 1, 2, 3]  # the default floor: 1 s


def test_429_and_503_are_retried_no_sooner_than_their_retry_after(
    paced: Flavour, virtual_server: ScriptedServer, virtual_time: VirtualTime
) -> None:
    virtual_server.script(
        JOB_PATH,
        Answer(429, envelope(429, "RATE_LIMIT_EXCEEDED", "rate_limit_error"), {"Retry-After": "3"}),
        Answer(503, envelope(503, "SERVICE_UNAVAILABLE", "server_error"), {"Retry-After": "5"}),
        job_answer("running", progress=80, retry_after="2"),
        job_answer("succeeded", progress=100),
    )

    job = paced.wait(timeout=60)

    assert job.status == "succeeded"
    after_429, after_503, after_answer = virtual_time.sleeps
    assert 3 <= after_429 <= 6, "the first failure: between the Retry-After and twice it"
    assert 10 <= after_503 <= 20, "the second in a row: between twice and four times its Retry-After"
    assert after_answer == 2, "an answer's Retry-After, as it is"


def test_5xx_without_retry_after_back_off_exponentially_with_jitter(
    paced: Flavour, virtual_server: ScriptedServer, virtual_time: VirtualTime
) -> None:
    failures = [Answer(status, b"<html>Bad gateway</html>", {"Content-Type": "text/html"}) for status in (502, 503)]
    virtual_server.script(JOB_PATH, *failures, *failures, job_answer("succeeded", progress=100))

    job = paced.wait(timeout=60, poll_interval_floor=0)

    assert job.status == "succeeded"
    ceilings = [1.0, 2.0, 4.0, 8.0]  # after 1, 2, 3 and 4 failures in a row
    assert len(virtual_time.sleeps) == len(ceilings)
    for pause, ceiling in zip(virtual_time.sleeps, ceilings, strict=True):
        assert ceiling / 2 <= pause <= ceiling
    fractions = {round(pause / ceiling, 6) for pause, ceiling in zip(virtual_time.sleeps, ceilings, strict=True)}
    assert len(fractions) > 1, "jitter: each pause is a different share of its ceiling"


def test_backoff_restarts_after_an_answer(
    paced: Flavour, virtual_server: ScriptedServer, virtual_time: VirtualTime
) -> None:
    failure = Answer(503, envelope(503, "SERVICE_UNAVAILABLE", "server_error"))
    virtual_server.script(
        JOB_PATH, failure, failure, job_answer("running", retry_after="1"), failure, job_answer("succeeded", 100)
    )

    paced.wait(timeout=60, poll_interval_floor=0)

    first, second, after_answer, third = virtual_time.sleeps
    assert 0.5 <= first <= 1
    assert 1 <= second <= 2
    assert after_answer == 1
    assert 0.5 <= third <= 1


@pytest.mark.parametrize(
    ("status", "code", "error_type", "exception"),
    [
        (400, "VALIDATION_ERROR", "client_error", ValidationError),
        (401, "AUTHENTICATION_REQUIRED", "authentication_error", AuthenticationError),
        (403, "ORGANIZATION_ACCESS_DENIED", "authorization_error", PermissionDeniedError),
        (404, "RESOURCE_NOT_FOUND", "client_error", NotFoundError),
        (409, "CONFLICT", "client_error", ConflictError),
        (413, "REQUEST_TOO_LARGE", "client_error", APIError),
        (422, "VALIDATION_ERROR", "client_error", ValidationError),
    ],
)
def test_other_4xx_raise_their_typed_error_without_a_retry(
    paced: Flavour,
    virtual_server: ScriptedServer,
    *,
    status: int,
    code: str,
    error_type: str,
    exception: type[APIError],
) -> None:
    body = envelope(status, code, error_type, job_id=JOB)
    virtual_server.script(JOB_PATH, Answer(status, body, {"Retry-After": "1"}))

    with pytest.raises(exception) as raised:
        paced.wait(timeout=60)

    assert type(raised.value) is exception
    error = raised.value
    sent = body["error"]
    assert (error.status, error.code, error.message, error.system_message, error.type) == (
        status,
        code,
        sent["message"],
        sent["system_message"],
        error_type,
    )
    assert (error.details, error.trace_id, error.timestamp) == ({"job_id": JOB}, "req_abc123xyz", sent["timestamp"])
    assert len(virtual_server.requests_to(JOB_PATH)) == 1


def test_the_deadline_ends_retries_of_a_failing_service(
    paced: Flavour, virtual_server: ScriptedServer, virtual_time: VirtualTime
) -> None:
    virtual_server.script(
        JOB_PATH, Answer(503, envelope(503, "SERVICE_UNAVAILABLE", "server_error"), {"Retry-After": "4"})
    )

    with pytest.raises(WaitTimeoutError) as raised:
        paced.wait(timeout=10)

    first, second = request_times(virtual_server)
    assert first == 0
    assert 4 <= second <= 8
    assert virtual_time.now <= 10, "the next pause (8 s at least) would have ended after the deadline"
    assert isinstance(raised.value.__cause__, ServiceUnavailableError)
    assert raised.value.last_job is None
    assert "HTTP 503 SERVICE_UNAVAILABLE" in str(raised.value)


def test_the_deadline_bounds_a_request_that_gets_no_answer(flavour: Flavour, server: ScriptedServer) -> None:
    server.script(JOB_PATH, Answer(stall=True))
    started = time.monotonic()

    with pytest.raises(WaitTimeoutError) as raised:
        flavour.wait(timeout=0.5)

    assert time.monotonic() - started < 2
    assert isinstance(raised.value.__cause__, APIConnectionError)


@pytest.mark.parametrize(
    ("status", "exception", "explanation"),
    [
        ("failed", JobFailedError, "The engine could not finish this track. Please retry."),
        ("cancelled", JobCancelledError, "was cancelled"),
        ("refused", JobRefusedError, "The prompt asks to imitate a living artist's voice."),
    ],
)
def test_each_unsuccessful_end_raises_its_typed_error_carrying_the_job(
    paced: Flavour, virtual_server: ScriptedServer, status: str, exception: type[JobError], explanation: str
) -> None:
    virtual_server.script(
        JOB_PATH, job_answer("queued", 0, "1"), job_answer("running", 30, "1"), job_answer(status, 30)
    )

    with pytest.raises(exception) as raised:
        paced.wait(timeout=60)

    assert raised.value.job.id == JOB
    assert raised.value.job.status == status
    assert explanation in str(raised.value)
    assert len(virtual_server.requests_to(JOB_PATH)) == 3


def test_success_returns_the_job_and_updates_come_only_on_change(
    paced: Flavour, virtual_server: ScriptedServer
) -> None:
    virtual_server.script(
        JOB_PATH,
        job_answer("queued", 0, "1"),
        job_answer("queued", 0, "1"),
        job_answer("running", 10, "1"),
        job_answer("running", 10, "1"),
        job_answer("running", 55, "1"),
        job_answer("succeeded", 100),
    )
    updates: list[GenerationJob] = []

    job = paced.wait(timeout=60, on_update=updates.append)

    assert [(update.status, update.progress) for update in updates] == [
        ("queued", 0),
        ("running", 10),
        ("running", 55),
        ("succeeded", 100),
    ]
    assert job is updates[-1]
    assert job.track is not None
    assert job.track.title == "Late Night Study"


def test_an_unknown_status_counts_as_in_flight(paced: Flavour, virtual_server: ScriptedServer) -> None:
    virtual_server.script(JOB_PATH, job_answer("paused", 50, "5", resumes_at="later"))

    with pytest.raises(WaitTimeoutError) as raised:
        paced.wait(timeout=12)

    assert request_times(virtual_server) == [0, 5, 10]
    last = raised.value.last_job
    assert last is not None
    assert last.status == "paused"
    assert last.model_extra == {"resumes_at": "later"}


@pytest.mark.parametrize(("timeout", "floor"), [(0, 1), (-1, 1), (10, -0.5)])
def test_a_wait_that_cannot_make_sense_is_refused(paced: Flavour, timeout: float, floor: float) -> None:
    with pytest.raises(ValueError, match="must"):
        paced.wait(timeout=timeout, poll_interval_floor=floor)
