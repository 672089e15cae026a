"""download: the audio lands whole or not at all, and an expired playback URL is replaced once."""

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from freddy_music import DownloadError, GenerationJob
from freddy_music._flows import URL_EXPIRY_MARGIN
from tests.helpers.client import AUDIO, JOB, JOB_PATH, ORG, Flavour, job_answer, job_body
from tests.helpers.scripted_server import Answer, ScriptedServer

OLD = "/storage/audio.mp3"  # the playback URL of the job the caller holds
NEW = "/storage/fresh/audio.mp3"  # the one the job carries when fetched again
DENIED = Answer(403, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")


def succeeded_job(flavour: Flavour, server: ScriptedServer, expires_at: str = "2099-01-01T00:00:00Z") -> GenerationJob:
    """A succeeded job read through the client, whose URL is OLD; fetching it again gives NEW."""
    server.script(
        JOB_PATH,
        job_answer("succeeded", 100, playback_url=f"{server.url}{OLD}?sig=1", playback_url_expires_at=expires_at),
        job_answer("succeeded", 100, playback_url=f"{server.url}{NEW}?sig=2"),
    )
    return flavour.get_job()


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".part"))


def test_the_audio_is_saved_and_the_storage_never_sees_the_api_key(
    flavour: Flavour, server: ScriptedServer, tmp_path: Path
) -> None:
    job = succeeded_job(flavour, server)
    server.script(OLD, Answer(200, AUDIO, {"Content-Type": "audio/mpeg"}))

    saved = flavour.download(job, tmp_path / "track.mp3")

    assert saved == tmp_path / "track.mp3"
    assert saved.read_bytes() == AUDIO
    (download,) = server.requests_to(OLD)
    assert download.path == f"{OLD}?sig=1"
    assert "X-API-Key" not in download.headers
    assert len(server.requests_to(JOB_PATH)) == 1, "no second fetch of the job"
    assert leftovers(tmp_path) == []


def test_a_403_from_the_storage_fetches_the_job_again_once(
    flavour: Flavour, server: ScriptedServer, tmp_path: Path
) -> None:
    job = succeeded_job(flavour, server)
    server.script(OLD, DENIED)
    server.script(NEW, Answer(200, AUDIO))

    flavour.download(job, tmp_path / "track.mp3")

    assert (tmp_path / "track.mp3").read_bytes() == AUDIO
    assert len(server.requests_to(OLD)) == 1
    assert len(server.requests_to(JOB_PATH)) == 2
    assert [request.path for request in server.requests_to(NEW)] == [f"{NEW}?sig=2"]


def test_a_url_past_its_expiry_is_replaced_before_it_is_tried(
    flavour: Flavour, server: ScriptedServer, tmp_path: Path
) -> None:
    job = succeeded_job(flavour, server, expires_at="2026-06-28T10:40:00Z")
    server.script(OLD, Answer(200, b"must not be fetched"))
    server.script(NEW, Answer(200, AUDIO))

    flavour.download(job, tmp_path / "track.mp3")

    assert (tmp_path / "track.mp3").read_bytes() == AUDIO
    assert server.requests_to(OLD) == []
    assert len(server.requests_to(JOB_PATH)) == 2


def test_a_second_refusal_is_a_download_error_and_leaves_no_file(
    flavour: Flavour, server: ScriptedServer, tmp_path: Path
) -> None:
    job = succeeded_job(flavour, server)
    server.script(OLD, DENIED)
    server.script(NEW, DENIED)
    destination = tmp_path / "track.mp3"
    destination.write_bytes(b"what was there before")

    with pytest.raises(DownloadError) as raised:
        flavour.download(job, destination)

    assert raised.value.status == 403
    assert "sig=" not in str(raised.value), "no signature in messages"
    assert destination.read_bytes() == b"what was there before"
    assert leftovers(tmp_path) == []
    assert len(server.requests_to(JOB_PATH)) == 2, "one refresh, not more"


def test_a_missing_object_is_not_retried(flavour: Flavour, server: ScriptedServer, tmp_path: Path) -> None:
    job = succeeded_job(flavour, server)
    server.script(OLD, Answer(404, b"<Error><Code>NoSuchKey</Code></Error>"))

    with pytest.raises(DownloadError, match="HTTP 404"):
        flavour.download(job, tmp_path / "track.mp3")

    assert len(server.requests_to(JOB_PATH)) == 1
    assert not (tmp_path / "track.mp3").exists()


def test_a_job_built_by_hand_cannot_be_refreshed(flavour: Flavour, server: ScriptedServer, tmp_path: Path) -> None:
    job = GenerationJob.model_validate(
        job_body(
            "succeeded", 100, playback_url=f"{server.url}{OLD}?sig=1", playback_url_expires_at="2026-01-01T00:00:00Z"
        )
    )

    with pytest.raises(DownloadError, match="not read through a client"):
        flavour.download(job, tmp_path / "track.mp3")

    assert server.received == []


def test_a_job_that_has_not_succeeded_has_nothing_to_download(
    flavour: Flavour, server: ScriptedServer, tmp_path: Path
) -> None:
    server.script(JOB_PATH, job_answer("running"))
    job = flavour.get_job()

    with pytest.raises(DownloadError, match="no playback URL"):
        flavour.download(job, tmp_path / "track.mp3")

    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(("seconds_left", "renewed"), [(2, True), (URL_EXPIRY_MARGIN.total_seconds() + 30, False)])
def test_a_url_about_to_expire_is_renewed_before_it_is_used(
    flavour: Flavour, server: ScriptedServer, tmp_path: Path, seconds_left: float, renewed: bool
) -> None:
    expires_at = (datetime.now(UTC) + timedelta(seconds=seconds_left)).isoformat()
    job = succeeded_job(flavour, server, expires_at=expires_at)
    server.script(OLD, Answer(200, AUDIO))
    server.script(NEW, Answer(200, AUDIO))

    flavour.download(job, tmp_path / "track.mp3")

    assert timedelta(seconds=5) == URL_EXPIRY_MARGIN, "the margin the README documents"
    assert len(server.requests_to(OLD)) == (0 if renewed else 1)
    assert len(server.requests_to(JOB_PATH)) == (2 if renewed else 1)


def test_a_saved_file_follows_the_umask_like_any_program_output(
    flavour: Flavour, server: ScriptedServer, tmp_path: Path
) -> None:
    job = succeeded_job(flavour, server)
    server.script(OLD, Answer(200, AUDIO))
    previous = os.umask(0o022)
    try:
        saved = flavour.download(job, tmp_path / "track.mp3")
    finally:
        os.umask(previous)

    assert stat.S_IMODE(saved.stat().st_mode) == 0o644, "readable by a web server running as another user"


def test_a_job_id_is_fetched_then_downloaded(flavour: Flavour, server: ScriptedServer, tmp_path: Path) -> None:
    server.script(JOB_PATH, job_answer("succeeded", 100, playback_url=f"{server.url}{OLD}?sig=1"))
    server.script(OLD, Answer(200, AUDIO))

    flavour.call(lambda client: client.download(JOB, tmp_path / "track.mp3", organization_id=ORG))

    assert (tmp_path / "track.mp3").read_bytes() == AUDIO
