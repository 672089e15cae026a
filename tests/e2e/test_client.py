"""The Python client and its command line against the local API, as a user runs them.

Every job the demo serves has already ended, or stands still in queued or running; the simulated jobs that move
through queued -> running -> an end join ``ENDINGS`` with the outcome they reach.
"""

import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from freddy_music import (
    AuthenticationError,
    Client,
    JobCancelledError,
    JobFailedError,
    JobRefusedError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
    WaitTimeoutError,
)
from freddy_music.cli import ExitCode, main
from freddy_music.errors import APIError, JobError
from music_local.launcher import LaunchedApi
from tests.helpers.client import run_as_alice
from tests.helpers.contract import spec_example
from tests.helpers.seed import (
    ALICE_KEY,
    ALICE_REVOKED_KEY,
    AUDIO_BYTES,
    DAVE_KEY,
    ORG,
    OTHER_ORG,
    SEED_JOB_ID,
    UNKNOWN_KEY,
)

ENDINGS: list[tuple[str, type[JobError], ExitCode]] = [
    ("mgen_failed00001", JobFailedError, ExitCode.FAILED),
    ("mgen_cancel00001", JobCancelledError, ExitCode.CANCELLED),
    ("mgen_refused0001", JobRefusedError, ExitCode.REFUSED),
]


@pytest.fixture
def client(local_api: LaunchedApi) -> Iterator[Client]:
    with Client(ALICE_KEY, base_url=local_api.url) as alices:
        yield alices


@pytest.fixture
def as_alice(local_api: LaunchedApi, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line's settings, from the environment as a user gives them."""
    monkeypatch.setenv("FREDDY_API_KEY", ALICE_KEY)
    monkeypatch.setenv("FREDDY_BASE_URL", local_api.url)


def access_lines(api: LaunchedApi, route: str, since: int, expected: int) -> int:
    """How many GETs of a job the local API's access log shows after line ``since`` (its log lags a little).

    The access log names the route, not the path (a path is client-controlled and would be logged unescaped), so
    ``route`` is the template's; the e2e tests run one at a time, so the lines after ``since`` are this test's."""

    def count() -> int:
        logged = (json.loads(line) for line in api.output[since:] if line.startswith('{"requestId"'))
        return sum(1 for entry in logged if (entry["httpMethod"], entry["route"]) == ("GET", route))

    deadline = time.monotonic() + 2
    while count() < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # anything more would show by now
    return count()


def test_get_returns_the_contracts_example_job(client: Client) -> None:
    example = spec_example("200 OK:")

    body = client.get(f"/v1/music/{ORG}/generations/{SEED_JOB_ID}")
    job = client.generations.get(ORG, SEED_JOB_ID)

    signed = {"playback_url"}
    assert {key: value for key, value in body.items() if key not in signed | {"playback_url_expires_at", "track"}} == {
        key: value for key, value in example.items() if key not in signed | {"track"}
    }
    assert {key: value for key, value in body["track"].items() if key not in signed} == {
        key: value for key, value in example["track"].items() if key not in signed
    }
    assert job.model_extra == {}, "the client knows every field the API sends"
    assert job.id == SEED_JOB_ID
    assert job.track is not None
    assert job.track.title == example["track"]["title"]
    assert job.playback_url_expires_at is not None
    assert job.playback_url_expires_at > datetime.now(UTC)


def test_watch_saves_the_exact_mp3(local_api: LaunchedApi, tmp_path: Path) -> None:
    output = tmp_path / "late-night-study.mp3"

    printed = run_as_alice(
        [sys.executable, "-m", "freddy_music", "watch", ORG, SEED_JOB_ID, "--output", str(output)], local_api.url
    )

    assert printed.splitlines() == [
        f"{SEED_JOB_ID} succeeded 100%",
        "Late Night Study (mtrack_7c1a9e2f4b8d)",
        "  1:59, audio/mpeg, licence personal_only, instrumental, engine studio",
        f"saved {output} ({len(AUDIO_BYTES):,} bytes)",
    ]
    assert output.read_bytes() == AUDIO_BYTES


def test_an_expired_url_is_replaced_by_fetching_the_job_again(client: Client, tmp_path: Path) -> None:
    job = client.generations.get(ORG, SEED_JOB_ID)
    expired = job.model_copy(
        update={
            "playback_url": "http://127.0.0.1:9/expired",
            "playback_url_expires_at": datetime(2026, 1, 1, tzinfo=UTC),
        }
    )

    client.download(expired, tmp_path / "track.mp3")

    assert (tmp_path / "track.mp3").read_bytes() == AUDIO_BYTES


@pytest.mark.parametrize(("job_id", "exception", "exit_code"), ENDINGS)
def test_wait_raises_each_unsuccessful_end_as_its_type(
    client: Client, job_id: str, exception: type[JobError], exit_code: ExitCode
) -> None:
    with pytest.raises(exception) as raised:
        client.generations.wait(ORG, job_id, timeout=10)

    assert raised.value.job.id == job_id


@pytest.mark.usefixtures("as_alice")
@pytest.mark.parametrize(("job_id", "exception", "exit_code"), ENDINGS)
def test_watch_exits_with_each_ends_code(
    capsys: pytest.CaptureFixture[str], job_id: str, exception: type[JobError], exit_code: ExitCode
) -> None:
    assert main(["watch", ORG, job_id, "--timeout", "10"]) == exit_code
    assert capsys.readouterr().out.startswith(f"{job_id} ")


def test_wait_on_a_running_job_polls_at_the_servers_pace_until_the_deadline(
    client: Client, local_api: LaunchedApi
) -> None:
    since = len(local_api.output)
    started = time.monotonic()

    with pytest.raises(WaitTimeoutError) as raised:
        client.generations.wait(ORG, "mgen_running0001", timeout=3)

    elapsed = time.monotonic() - started
    assert 2 <= elapsed < 3, "Retry-After: 2 between the two polls, then no poll that would end after 3 s"
    assert access_lines(local_api, "/v1/music/{organization_id}/generations/{job_id}", since, expected=2) == 2
    assert raised.value.last_job is not None
    assert (raised.value.last_job.status, raised.value.last_job.progress) == ("running", 42)


@pytest.mark.usefixtures("as_alice")
def test_watch_of_a_queued_job_times_out(capsys: pytest.CaptureFixture[str]) -> None:
    # Queued answers say Retry-After: 5, so a 1 s watch ends after its first poll.
    assert main(["watch", ORG, "mgen_queued0001", "--timeout", "1"]) == ExitCode.TIMEOUT
    assert "last seen queued at 0%" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("key", "organization_id", "job_id", "exception", "code"),
    [
        (ALICE_KEY, ORG, "mgen_bobjob00001", NotFoundError, "RESOURCE_NOT_FOUND"),
        (ALICE_KEY, ORG, "mgen_neverexisted1", NotFoundError, "RESOURCE_NOT_FOUND"),
        (ALICE_KEY, ORG, "mgen_bad", ValidationError, "VALIDATION_ERROR"),
        (ALICE_KEY, OTHER_ORG, "mgen_carol00001", PermissionDeniedError, "ORGANIZATION_ACCESS_DENIED"),
        (DAVE_KEY, ORG, SEED_JOB_ID, PermissionDeniedError, "ORGANIZATION_ACCESS_DENIED"),
        (UNKNOWN_KEY, ORG, SEED_JOB_ID, AuthenticationError, "AUTHENTICATION_REQUIRED"),
        (ALICE_REVOKED_KEY, ORG, SEED_JOB_ID, AuthenticationError, "AUTHENTICATION_REQUIRED"),
    ],
    ids=["another-users-job", "no-such-job", "malformed-job-id", "other-org", "no-org", "unknown-key", "revoked-key"],
)
def test_refusals_are_typed_and_carry_the_envelope(
    local_api: LaunchedApi, *, key: str, organization_id: str, job_id: str, exception: type[APIError], code: str
) -> None:
    with Client(key, base_url=local_api.url) as client, pytest.raises(exception) as raised:
        client.generations.wait(organization_id, job_id, timeout=10)

    error = raised.value
    assert error.code == code
    assert error.trace_id is not None
    assert error.trace_id.startswith("req_")
    assert error.timestamp


@pytest.mark.parametrize(
    ("key", "organization_id", "exit_code"),
    [(UNKNOWN_KEY, ORG, ExitCode.AUTHENTICATION), (DAVE_KEY, ORG, ExitCode.PERMISSION_DENIED)],
    ids=["unknown-key", "no-org"],
)
def test_get_exits_with_the_refusals_code(
    local_api: LaunchedApi, monkeypatch: pytest.MonkeyPatch, key: str, organization_id: str, exit_code: ExitCode
) -> None:
    monkeypatch.setenv("FREDDY_API_KEY", key)
    monkeypatch.setenv("FREDDY_BASE_URL", local_api.url)

    assert main(["get", organization_id, SEED_JOB_ID]) == exit_code
