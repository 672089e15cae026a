"""generations.create and ``freddy-music generate`` against the local API, as a user runs them after ``make run``:
the generation worker (the template's GenerationWorkerFunction, invoked with the queue's messages as its SQS event
source would) runs each created job to success with the built-in synthesizer's MP3 of about the requested length."""

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from freddy_music import Client, JobStatus, ValidationError
from freddy_music.cli import ExitCode, main
from music_api.worker.synth import mp3 as synth_mp3
from music_local import mp3
from music_local.launcher import LaunchedApi
from tests.helpers.seed import ALICE_KEY, ORG

DEADLINE_SECONDS = 30


@pytest.fixture
def client(local_api: LaunchedApi) -> Iterator[Client]:
    with Client(ALICE_KEY, base_url=local_api.url) as alices:
        yield alices


def job_ids(client: Client) -> set[str]:
    """Every job of the caller's in ORG, whatever its status (the generation worker moves created jobs on)."""
    return {job.id for job in client.generations.list(ORG, limit=100)}


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
    known = job_ids(client)

    with pytest.raises(ValidationError) as raised:
        client.generations.create(
            ORG, engine=engine, prompt="rain on a tin roof", duration_seconds=duration_seconds, lyrics=lyrics
        )

    assert (raised.value.code, raised.value.details["field"]) == (code, field)
    assert job_ids(client) == known


def test_generate_creates_a_job_follows_it_and_saves_the_audio_of_the_requested_length(
    local_api: LaunchedApi,
    client: Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FREDDY_API_KEY", ALICE_KEY)
    monkeypatch.setenv("FREDDY_BASE_URL", local_api.url)
    monkeypatch.chdir(tmp_path)
    generate = ["generate", ORG, "--engine", "studio", "--prompt", "rain on a tin roof", "--duration", "20"]

    code = main([*generate, "--title", "Rain on the Roof", "--instrumental", "--timeout", str(DEADLINE_SECONDS)])

    out, err = capsys.readouterr()
    assert (code, err) == (ExitCode.SUCCEEDED, "")
    lines = out.splitlines()
    job_id = lines[0].split()[0]
    assert lines[-4] == f"{job_id} succeeded 100%"
    assert lines[-3].startswith("Rain on the Roof (mtrack_")
    saved = (tmp_path / "rain-on-the-roof.mp3").read_bytes()
    assert lines[-1] == f"saved rain-on-the-roof.mp3 ({len(saved):,} bytes)"
    assert mp3.duration_seconds(saved) == pytest.approx(20, abs=0.5)
    job = client.generations.get(ORG, job_id)
    assert job.playback_url is not None
    with urllib.request.urlopen(job.playback_url, timeout=30) as download:  # noqa: S310 - the emulator on loopback
        assert download.read() == saved


def test_a_created_job_is_generated_by_the_worker_with_a_master_and_stems_that_meet_the_bar(client: Client) -> None:
    """The local stack runs a created job through GenerationWorkerFunction and the built-in synthesizer: the master
    and every stem are 44.1 kHz stereo MP3 of the requested length (from their frames) at 128 kbit/s or more."""
    job = client.generations.create(
        ORG, engine="studio", prompt="warm lo-fi piano, rain", duration_seconds=8, instrumental=True
    )
    finished = client.generations.wait(ORG, job.id, timeout=DEADLINE_SECONDS)
    assert finished.status == JobStatus.SUCCEEDED
    assert finished.result_track_id is not None
    track = client.tracks.get(ORG, finished.result_track_id)

    assert track.stem_urls, "the studio engine makes stems"
    assert set(track.stem_urls) <= {"drums", "bass", "harmony", "melody"}
    for url in [track.playback_url, *track.stem_urls.values()]:
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - the local stack's presigned URL
            facts = synth_mp3.facts(answer.read())
        assert abs(facts.duration_seconds - 8) <= 0.1
        assert (facts.sample_rate_hz, facts.channels) == (44_100, 2)
        assert facts.bitrate_kbps >= 128
