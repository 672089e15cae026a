"""One retry policy for every request: which requests are retried (every GET, a cancel, a POST with an idempotency
key; never a POST without one), how often (``max_retries``, per client or per call), how long each pause is
(exponential from the answer's Retry-After, jittered, capped at 30 s, within a wait's deadline and never below its
floor), and what the caller can read of an answer (its request id and headers). Virtual time, both clients."""

import random
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from freddy_music import (
    APIConnectionError,
    AsyncClient,
    Client,
    GenerationJob,
    RateLimitedError,
    ServiceUnavailableError,
    WaitTimeoutError,
)
from freddy_music._flows import BACKOFF_CAP_SECONDS, DEFAULT_MAX_RETRIES
from tests.helpers.client import API_KEY, JOB, JOB_PATH, ORG, Flavour, VirtualTime, envelope, job_answer, job_body
from tests.helpers.scripted_server import Answer, ScriptedServer

GENERATIONS_PATH = f"/v1/music/{ORG}/generations"
TRACK = "mtrack_7c1a9e2f4b8d"
RATE_LIMITED = Answer(429, envelope(429, "RATE_LIMIT_EXCEEDED", "rate_limit_error"), {"Retry-After": "1"})
UNAVAILABLE = Answer(503, envelope(503, "SERVICE_UNAVAILABLE", "server_error"))
BAD_GATEWAY = Answer(502, b"<html>Bad gateway</html>", {"Content-Type": "text/html"})  # no Retry-After
CREATED = Answer(202, job_body("queued", 0), {"Retry-After": "5"})

# Each call that must be retried, and the path it asks.
RETRIED_CALLS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "generations.get": (JOB_PATH, lambda client: client.generations.get(ORG, JOB)),
    "generations.cancel": (f"{JOB_PATH}/cancel", lambda client: client.generations.cancel(ORG, JOB)),
    "generations.list_page": (GENERATIONS_PATH, lambda client: client.generations.list_page(ORG)),
    "tracks.get": (f"/v1/music/{ORG}/tracks/{TRACK}", lambda client: client.tracks.get(ORG, TRACK)),
    "engines.list": (f"/v1/music/{ORG}/engines", lambda client: client.engines.list(ORG)),
    "get(path)": (JOB_PATH, lambda client: client.get(JOB_PATH)),
    "post(path, idempotency_key=...)": (
        GENERATIONS_PATH,
        lambda client: client.post(GENERATIONS_PATH, json={"prompt": "rain"}, idempotency_key="order-1234"),
    ),
}


@pytest.mark.parametrize("call", list(RETRIED_CALLS))
def test_every_get_a_cancel_and_a_keyed_post_are_retried_max_retries_times(
    paced: Flavour, virtual_server: ScriptedServer, virtual_time: VirtualTime, call: str
) -> None:
    path, use = RETRIED_CALLS[call]
    virtual_server.script(path, UNAVAILABLE)

    with pytest.raises(ServiceUnavailableError):
        paced.call(use)

    assert len(virtual_server.received) == 1 + DEFAULT_MAX_RETRIES
    assert len(virtual_time.sleeps) == DEFAULT_MAX_RETRIES
    assert len({request.headers.get("Idempotency-Key") for request in virtual_server.received}) == 1


def test_a_post_without_an_idempotency_key_is_never_retried(
    paced: Flavour, virtual_server: ScriptedServer, virtual_time: VirtualTime
) -> None:
    virtual_server.script(GENERATIONS_PATH, UNAVAILABLE, CREATED)

    with pytest.raises(ServiceUnavailableError):
        paced.call(lambda client: client.post(GENERATIONS_PATH, json={"prompt": "rain"}))

    assert len(virtual_server.received) == 1, "a repeat could create a second job"
    assert virtual_time.sleeps == []


def test_get_follows_a_429s_retry_after_and_then_answers(
    paced: Flavour, virtual_server: ScriptedServer, virtual_time: VirtualTime
) -> None:
    virtual_server.script(JOB_PATH, RATE_LIMITED, RATE_LIMITED, job_answer("running", 42))

    job = paced.get_job()

    assert (job.status, job.progress) == ("running", 42)
    first, second = virtual_time.sleeps
    assert 1 <= first <= 2
    assert 2 <= second <= 4


def test_an_unreachable_api_is_retried_too(flavour_name: str, virtual_time: VirtualTime) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = Flavour(flavour_name, f"http://127.0.0.1:{closed_port}", virtual_time)

    with pytest.raises(APIConnectionError):
        unreachable.get_job()

    assert len(virtual_time.sleeps) == DEFAULT_MAX_RETRIES


def test_max_retries_is_set_per_client_and_per_call(
    paced: Flavour, virtual_server: ScriptedServer, virtual_time: VirtualTime
) -> None:
    virtual_server.script(JOB_PATH, UNAVAILABLE)

    with pytest.raises(ServiceUnavailableError):
        paced.call(lambda client: client.generations.get(ORG, JOB), max_retries=1)
    assert (len(virtual_server.received), len(virtual_time.sleeps)) == (2, 1)

    with pytest.raises(ServiceUnavailableError):
        paced.call(lambda client: client.with_options(max_retries=0).generations.get(ORG, JOB))
    assert (len(virtual_server.received), len(virtual_time.sleeps)) == (3, 1)


def test_a_per_call_timeout_bounds_a_request_that_gets_no_answer(flavour: Flavour, server: ScriptedServer) -> None:
    server.script(JOB_PATH, Answer(stall=True))
    started = time.monotonic()

    with pytest.raises(APIConnectionError):
        flavour.call(lambda client: client.with_options(timeout=0.2, max_retries=0).generations.get(ORG, JOB))

    assert time.monotonic() - started < 2


def test_a_retry_after_over_the_cap_is_raised_at_once_by_a_single_call(
    paced: Flavour, virtual_server: ScriptedServer, virtual_time: VirtualTime
) -> None:
    quota = Answer(429, envelope(429, "QUOTA_EXCEEDED", "rate_limit_error"), {"Retry-After": "3600"})
    virtual_server.script(JOB_PATH, quota)

    with pytest.raises(RateLimitedError) as raised:
        paced.get_job()

    assert raised.value.retry_after == 3600, "the caller learns when to come back"
    assert len(virtual_server.received) == 1
    assert virtual_time.sleeps == [], "no call blocks for an hour"


def refilling_budget(every: float, since: float) -> Callable[[float], Answer]:
    """A create budget of one request per ``every`` seconds, spent when the test starts at ``since``: its 429s say
    `Retry-After: 1` whatever the wait, as the gateway's static template does."""
    spent: set[int] = set()

    def answer(now: float) -> Answer:
        window = int((now - since) // every)
        if window == 0 or window in spent:
            return RATE_LIMITED
        spent.add(window)
        return CREATED

    return answer


def test_a_static_retry_after_of_1_s_does_not_hammer_a_budget_that_refills_every_10_s(
    paced: Flavour, virtual_server: ScriptedServer, virtual_time: VirtualTime
) -> None:
    for seed in range(20):
        since, asked = virtual_time.now, len(virtual_server.received)
        virtual_server.script(GENERATIONS_PATH, refilling_budget(10, since))

        job = paced.call(
            lambda client: client.generations.create(ORG, engine="studio", prompt="rain", duration_seconds=30),
            rng=random.Random(seed),  # noqa: S311 - seeded jitter, for repeatable pauses
        )

        assert job.id == JOB, f"seed {seed}: the retries gave up before the budget refilled"
        attempts = [request.at - since for request in virtual_server.received[asked:]]
        assert sum(1 for at in attempts if at < 10) <= 4, f"seed {seed}: {attempts}"
        pauses = virtual_time.sleeps[-(len(attempts) - 1) :]
        for failures, pause in enumerate(pauses, start=1):
            assert 2 ** (failures - 1) <= pause <= 2**failures, f"seed {seed}: exponential from Retry-After: 1"


def test_no_pause_exceeds_the_cap_and_a_failing_wait_lasts_to_its_deadline(
    paced: Flavour, virtual_server: ScriptedServer, virtual_time: VirtualTime
) -> None:
    virtual_server.script(JOB_PATH, BAD_GATEWAY)

    with pytest.raises(WaitTimeoutError):
        paced.wait(timeout=600, poll_interval_floor=0)

    assert max(virtual_time.sleeps) <= BACKOFF_CAP_SECONDS == 30
    assert virtual_time.now > 600 - BACKOFF_CAP_SECONDS, "kept trying until a capped pause no longer fitted"


def test_a_wait_told_to_come_back_after_its_deadline_ends_at_once(
    paced: Flavour, virtual_server: ScriptedServer, virtual_time: VirtualTime
) -> None:
    virtual_server.script(
        JOB_PATH, Answer(429, envelope(429, "QUOTA_EXCEEDED", "rate_limit_error"), {"Retry-After": "3600"})
    )

    with pytest.raises(WaitTimeoutError) as raised:
        paced.wait(timeout=300)

    assert virtual_time.sleeps == []
    assert isinstance(raised.value.__cause__, RateLimitedError)


def test_retries_of_a_wait_honour_its_poll_interval_floor(
    paced: Flavour, virtual_server: ScriptedServer, virtual_time: VirtualTime
) -> None:
    virtual_server.script(JOB_PATH, BAD_GATEWAY, BAD_GATEWAY, BAD_GATEWAY, job_answer("succeeded", 100))

    paced.wait(timeout=120, poll_interval_floor=10)

    assert len(virtual_time.sleeps) == 3
    assert min(virtual_time.sleeps) >= 10, "the floor bounds how often a wait asks, failures included"


def test_the_answer_behind_a_job_is_reachable(flavour: Flavour, server: ScriptedServer) -> None:
    headers = {"X-Request-Id": "req_abc123xyz", "Retry-After": "2"}
    server.script(JOB_PATH, Answer(200, job_body("running"), headers))

    job = flavour.get_job()

    assert job.request_id == "req_abc123xyz"
    assert job.response is not None
    assert (job.response.status_code, job.response.headers["Retry-After"]) == (200, "2")
    assert job.response.json() == job_body("running")
    assert GenerationJob.model_validate(job_body("running")).response is None, "built by hand: no answer"


def test_listed_jobs_and_engines_carry_their_pages_answer(flavour: Flavour, server: ScriptedServer) -> None:
    page = {"jobs": [job_body("queued", 0)], "limit": 50, "offset": 0}
    server.script(GENERATIONS_PATH, Answer(200, page, {"X-Request-Id": "req_page"}))
    engine = {
        "key": "studio",
        "max_duration_seconds": 300,
        "vocals": True,
        "lyrics": True,
        "stems": True,
        "languages": ["en"],
        "licence_class": "commercial_cleared",
        "commercial_use": True,
        "requires_attribution": False,
    }
    server.script(f"/v1/music/{ORG}/engines", Answer(200, {"engines": [engine]}, {"X-Request-Id": "req_engines"}))

    listed = flavour.call(lambda client: client.generations.list_page(ORG))
    engines = flavour.call(lambda client: client.engines.list(ORG))

    assert (listed.request_id, listed.jobs[0].request_id, listed.next_offset) == ("req_page", "req_page", None)
    assert [(item.key, item.request_id) for item in engines] == [("studio", "req_engines")]


def test_max_retries_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        Client(API_KEY, base_url="http://127.0.0.1:9", max_retries=-1)
    with pytest.raises(ValueError, match="max_retries"):
        AsyncClient(API_KEY, base_url="http://127.0.0.1:9").with_options(max_retries=-1)
