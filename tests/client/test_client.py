"""The client's settings, its plain get and post, typed jobs and typed errors, against a scripted server."""

import json
import socket
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from freddy_music import (
    APIConnectionError,
    AuthenticationError,
    Client,
    ConfigurationError,
    GenerationJob,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
    UnexpectedResponseError,
)
from freddy_music._http import DEFAULT_BASE_URL, USER_AGENT, retry_after_seconds
from freddy_music.models import JobStatus
from tests.helpers.client import API_KEY, JOB, JOB_PATH, ORG, Flavour, envelope, job_answer, job_body
from tests.helpers.scripted_server import Answer, ScriptedServer


def collected(flavour: Flavour, jobs: Any) -> Any:
    """Every job of a listing: iterated, or with ``async for`` on the async client (a coroutine to await)."""
    if flavour.name == "sync":
        return list(jobs)

    async def collect() -> list[Any]:
        return [job async for job in jobs]

    return collect()


@pytest.fixture(autouse=True)
def no_settings_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FREDDY_API_KEY", raising=False)
    monkeypatch.delenv("FREDDY_BASE_URL", raising=False)
    monkeypatch.delenv("FREDDY_ORGANIZATION_ID", raising=False)


def test_settings_come_from_the_environment(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FREDDY_API_KEY", API_KEY)
    monkeypatch.setenv("FREDDY_BASE_URL", server.url)
    server.script(JOB_PATH, job_answer("running"))

    with Client() as client:
        body = client.get(JOB_PATH)

    assert body == job_body("running")
    (request,) = server.received
    assert request.headers["X-API-Key"] == API_KEY
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT


def test_arguments_win_over_the_environment(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FREDDY_API_KEY", "frd_test_from_the_environment")
    monkeypatch.setenv("FREDDY_BASE_URL", "http://127.0.0.1:9")
    server.script(JOB_PATH, job_answer("running"))

    with Client(api_key=API_KEY, base_url=server.url) as client:
        client.get(JOB_PATH)

    assert server.received[0].headers["X-API-Key"] == API_KEY


def test_the_public_api_is_the_default_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FREDDY_API_KEY", API_KEY)

    with Client() as client:
        assert client.base_url == DEFAULT_BASE_URL == "https://api.aitronos.com"


def test_a_base_url_with_a_stage_keeps_it(server: ScriptedServer) -> None:
    server.script(f"/prod{JOB_PATH}", job_answer("running"))

    with Client(API_KEY, base_url=f"{server.url}/prod/") as client:
        assert client.generations.get(ORG, JOB).status == JobStatus.RUNNING


@pytest.mark.parametrize("base_url", ["api.aitronos.com", "ftp://api.aitronos.com"])
def test_a_base_url_without_http_is_refused(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="https://"):
        Client(API_KEY, base_url=base_url)


def test_without_an_api_key_the_client_says_how_to_give_one() -> None:
    with pytest.raises(ConfigurationError, match="FREDDY_API_KEY"):
        Client()


def test_ids_stay_one_path_segment(server: ScriptedServer) -> None:
    server.script("/v1/music/org%2F..%2Fx/generations/mgen_a%3Fb%23c", job_answer("running"))

    with Client(API_KEY, base_url=server.url) as client:
        client.generations.get("org/../x", "mgen_a?b#c")

    assert server.received[0].path == "/v1/music/org%2F..%2Fx/generations/mgen_a%3Fb%23c"


def test_get_and_post_return_the_decoded_answer(flavour: Flavour, server: ScriptedServer) -> None:
    server.script("/v1/music/org_abc123/generations", Answer(201, job_body("queued", 0)))
    server.script(JOB_PATH, job_answer("queued", 0))

    posted = flavour.call(lambda client: client.post("/v1/music/org_abc123/generations", json={"prompt": "rain"}))
    got = flavour.call(lambda client: client.get(JOB_PATH))

    assert posted == got == job_body("queued", 0)
    request = server.received[0]
    assert request.method == "POST"
    assert json.loads(request.body) == {"prompt": "rain"}
    assert request.headers["Content-Type"] == "application/json"


def test_a_job_has_every_field_typed(flavour: Flavour, server: ScriptedServer) -> None:
    server.script(JOB_PATH, job_answer("succeeded", 100))

    job = flavour.get_job()

    assert job.status is JobStatus.SUCCEEDED
    assert job.is_terminal
    assert job.created_at == datetime(2026, 6, 28, 10, 30, tzinfo=UTC)
    assert job.playback_url_expires_at == datetime(2099, 1, 1, tzinfo=UTC)
    assert job.track is not None
    assert job.track.measured_duration_seconds == 119.4
    assert job.model_dump(mode="json") == job_body("succeeded", 100) | {
        "created_at": "2026-06-28T10:30:00Z",
        "playback_url_expires_at": "2099-01-01T00:00:00Z",
    }


def test_fields_a_newer_server_adds_are_kept_not_refused(flavour: Flavour, server: ScriptedServer) -> None:
    body = job_body("succeeded", 100, seed=42)
    body["track"]["bpm"] = 84
    server.script(JOB_PATH, Answer(200, body))

    job = flavour.get_job()

    assert job.model_extra == {"seed": 42}
    assert job.track is not None
    assert job.track.model_extra == {"bpm": 84}


def test_a_job_without_a_contract_field_is_an_unexpected_response(flavour: Flavour, server: ScriptedServer) -> None:
    body = job_body("running")
    del body["progress"]
    server.script(JOB_PATH, Answer(200, body))

    with pytest.raises(UnexpectedResponseError, match="progress"):
        flavour.get_job()


def test_a_success_that_is_not_json_is_an_unexpected_response(flavour: Flavour, server: ScriptedServer) -> None:
    server.script(JOB_PATH, Answer(200, b"<html>Sign in to the Wi-Fi</html>", {"Content-Type": "text/html"}))

    with pytest.raises(UnexpectedResponseError, match="Sign in to the Wi-Fi"):
        flavour.get_job()


def test_the_contracts_401_carries_its_envelope(flavour: Flavour, server: ScriptedServer) -> None:
    contract_401: dict[str, Any] = {
        "success": False,
        "error": {
            "code": "AUTHENTICATION_REQUIRED",
            "message": "Authentication required. Please provide a valid API key.",
            "system_message": "Missing or invalid authorization header",
            "type": "authentication_error",
            "status": 401,
            "details": {},
            "trace_id": "req_abc123xyz",
            "timestamp": "2026-06-28T10:30:00Z",
        },
    }
    server.script(JOB_PATH, Answer(401, contract_401))

    with pytest.raises(AuthenticationError) as raised:
        flavour.get_job()

    error = raised.value
    assert {name: getattr(error, name) for name in contract_401["error"]} == contract_401["error"]
    assert str(error) == (
        "HTTP 401 AUTHENTICATION_REQUIRED: Authentication required. Please provide a valid API key. "
        "(Missing or invalid authorization header) [trace_id req_abc123xyz]"
    )


def test_an_error_that_is_not_the_envelope_still_has_its_status_and_trace(
    flavour: Flavour, server: ScriptedServer
) -> None:
    page = b"<html><body>\n  <h1>502 Bad Gateway</h1>\n</body></html>"
    server.script(JOB_PATH, Answer(502, page, {"Content-Type": "text/html", "X-Request-Id": "req_from_header"}))

    with pytest.raises(ServiceUnavailableError) as raised:
        flavour.call(lambda client: client.generations.get(ORG, JOB), max_retries=0)

    error = raised.value
    assert (error.status, error.code, error.trace_id) == (502, "HTTP_502", "req_from_header")
    assert error.message == "<html><body> <h1>502 Bad Gateway</h1> </body></html>"
    assert error.system_message is None
    assert error.details == {}
    assert error.request_id == "req_from_header"
    assert error.headers["Content-Type"] == "text/html"
    assert len(server.received) == 1, "max_retries=0: no retry"


def test_a_429_carries_its_retry_after(flavour: Flavour, server: ScriptedServer) -> None:
    server.script(JOB_PATH, Answer(429, envelope(429, "RATE_LIMIT_EXCEEDED", "rate_limit_error"), {"Retry-After": "7"}))

    with pytest.raises(RateLimitedError) as raised:
        flavour.call(lambda client: client.generations.get(ORG, JOB), max_retries=0)

    assert raised.value.retry_after == 7


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), ("0.5", 0.5), ("-4", 0.0), ("soon", None), ("nan", None), ("Fri, 01 Jan 1999 00:00:00 GMT", 0.0)],
)
def test_retry_after_is_read_as_seconds_or_a_date(header: str, seconds: float | None) -> None:
    assert retry_after_seconds(httpx.Headers({"Retry-After": header})) == seconds


def test_retry_after_as_a_future_date() -> None:
    in_a_minute = datetime.now(UTC).timestamp() + 60
    header = datetime.fromtimestamp(in_a_minute, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")

    seconds = retry_after_seconds(httpx.Headers({"Retry-After": header}))

    assert seconds is not None
    assert 55 < seconds <= 60


def test_an_api_that_cannot_be_reached_is_a_connection_error(flavour_name: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = Flavour(flavour_name, f"http://127.0.0.1:{closed_port}")

    with pytest.raises(APIConnectionError, match=f"GET {JOB_PATH}"):
        unreachable.call(lambda client: client.generations.get(ORG, JOB), max_retries=0)


def test_cancel_posts_no_body_and_returns_the_job_as_it_is_now(flavour: Flavour, server: ScriptedServer) -> None:
    server.script(f"{JOB_PATH}/cancel", job_answer("running", 42, "2"))

    job = flavour.call(lambda client: client.generations.cancel(ORG, JOB))

    assert (job.status, job.progress) == (JobStatus.RUNNING, 42)
    (request,) = server.received
    assert (request.method, request.path, request.body) == ("POST", f"{JOB_PATH}/cancel", b"")


def test_cancel_of_a_missing_job_raises_not_found(flavour: Flavour, server: ScriptedServer) -> None:
    server.script(f"{JOB_PATH}/cancel", Answer(404, envelope(404, "RESOURCE_NOT_FOUND", "client_error")))

    with pytest.raises(NotFoundError):
        flavour.call(lambda client: client.generations.cancel(ORG, JOB))


def test_list_yields_jobs_page_after_page_until_a_short_page(flavour: Flavour, server: ScriptedServer) -> None:
    base = f"/v1/music/{ORG}/generations"
    full = {"jobs": [job_body("queued", 0), job_body("running", 5)], "limit": 2, "offset": 0}
    short = {"jobs": [job_body("failed", 9)], "limit": 2, "offset": 2}
    server.script(base, Answer(200, full), Answer(200, short))

    jobs = flavour.call(lambda client: collected(flavour, client.generations.list(ORG, status="queued", limit=2)))

    assert [job.status for job in jobs] == ["queued", "running", "failed"]
    assert all(isinstance(job, GenerationJob) for job in jobs)
    assert [request.path for request in server.received] == [
        f"{base}?limit=2&offset=0&status=queued",
        f"{base}?limit=2&offset=2&status=queued",
    ]
