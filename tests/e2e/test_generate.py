"""generations.create and ``freddy-music generate`` against the local API, as a user runs them after ``make run``.

A created job waits in the queue for a generation worker. Here the test is that worker: it finds the new job
through the API's list and runs it to success through the job writer (with the emulator's operator credentials
from the banner), uploading the audio the command then has to save.
"""

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from freddy_music import Client, JobStatus, ValidationError
from freddy_music.cli import ExitCode, main
from music_api.generations.writer import JobWriter
from music_local.launcher import LaunchedApi
from music_local.simulator import new_id
from tests.helpers.jobs import a_track, job_ref
from tests.helpers.local_operator import LocalOperator, local_operator
from tests.helpers.seed import ALICE_KEY, ORG

WORKER_AUDIO = b"ID3\x04\x00" + b"the audio the test's worker made " * 2048
DEADLINE_SECONDS = 30


@pytest.fixture
def client(local_api: LaunchedApi) -> Iterator[Client]:
    with Client(ALICE_KEY, base_url=local_api.url) as alices:
        yield alices


def queued_job_ids(client: Client) -> set[str]:
    return {job.id for page in client.generations.list(ORG, status="queued", limit=100) for job in page}


def run_the_new_job(operator: LocalOperator, client: Client, known: set[str]) -> str:
    """As a generation worker: take the queued job not in ``known``, start it, report progress, upload its audio
    and succeed with a track titled as the request asked. Returns the job's id."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not (new := queued_job_ids(client) - known):
        assert time.monotonic() < deadline, "no job was created"
        time.sleep(0.1)
    (job_id,) = new
    ref = job_ref(job_id)
    writer = JobWriter(operator.session.client("dynamodb", endpoint_url=operator.endpoint), operator.jobs_table)
    started = writer.start(ref).job
    track = a_track(new_id("mtrack_"), title=(started.request or {})["title"])
    operator.session.client("s3", endpoint_url=operator.endpoint).put_object(
        Bucket=operator.bucket, Key=track.audio_key, Body=WORKER_AUDIO, ContentType=track.mime_type
    )
    writer.report_progress(ref, 50)
    writer.succeed(ref, track)
    return job_id


def test_create_answers_a_queued_job_that_get_then_shows(client: Client) -> None:
    job = client.generations.create(
        ORG, engine="sketch", prompt="rain on a tin roof, slow", duration_seconds=20, instrumental=True
    )

    assert (job.status, job.progress, job.engine, job.mode, job.track) == (
        JobStatus.QUEUED,
        0,
        "sketch",
        "creation",
        None,
    )
    fetched = client.generations.get(ORG, job.id)
    assert (fetched.id, fetched.engine, fetched.mode, fetched.created_at) == (
        job.id,
        "sketch",
        "creation",
        job.created_at,
    )


@pytest.mark.parametrize(
    ("engine", "duration_seconds", "lyrics", "code", "field"),
    [
        ("sketch", 31, None, "GENERATION_NOT_ALLOWED", "duration_seconds"),
        ("sketch", 20, "la la la", "GENERATION_NOT_ALLOWED", "lyrics"),
        ("studio", 0, None, "VALIDATION_ERROR", "duration_seconds"),
    ],
    ids=["over-the-engines-maximum", "lyrics-for-an-engine-that-does-not-sing", "zero-seconds"],
)
def test_a_refused_create_is_a_validation_error_naming_the_field_and_creates_nothing(
    client: Client, *, engine: str, duration_seconds: int, lyrics: str | None, code: str, field: str
) -> None:
    known = queued_job_ids(client)

    with pytest.raises(ValidationError) as raised:
        client.generations.create(
            ORG, engine=engine, prompt="rain on a tin roof", duration_seconds=duration_seconds, lyrics=lyrics
        )

    assert (raised.value.code, raised.value.details["field"]) == (code, field)
    assert queued_job_ids(client) == known


def test_generate_creates_a_job_follows_it_and_saves_the_audio_its_worker_made(
    local_api: LaunchedApi,
    client: Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FREDDY_API_KEY", ALICE_KEY)
    monkeypatch.setenv("FREDDY_BASE_URL", local_api.url)
    monkeypatch.chdir(tmp_path)
    known = queued_job_ids(client)
    generate = ["generate", ORG, "--engine", "studio", "--prompt", "rain on a tin roof", "--duration", "20"]

    with ThreadPoolExecutor(1) as pool:
        worker = pool.submit(run_the_new_job, local_operator(local_api), client, known)
        code = main([*generate, "--title", "Rain on the Roof", "--instrumental", "--timeout", str(DEADLINE_SECONDS)])
        job_id = worker.result(timeout=DEADLINE_SECONDS)

    out, err = capsys.readouterr()
    assert (code, err) == (ExitCode.SUCCEEDED, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"{job_id} ")
    assert lines[-4] == f"{job_id} succeeded 100%"
    assert lines[-3].startswith("Rain on the Roof (mtrack_")
    assert lines[-1] == f"saved rain-on-the-roof.mp3 ({len(WORKER_AUDIO):,} bytes)"
    assert (tmp_path / "rain-on-the-roof.mp3").read_bytes() == WORKER_AUDIO
