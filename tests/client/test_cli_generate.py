"""freddy-music generate: create, watch with the progress display, save the audio; its exit codes."""

import json
from pathlib import Path

import pytest

from freddy_music.cli import ExitCode, main
from tests.helpers.client import API_KEY, AUDIO, JOB, JOB_PATH, ORG, envelope, job_answer, job_body, watched_lines
from tests.helpers.scripted_server import Answer, ScriptedServer

GENERATIONS_PATH = f"/v1/music/{ORG}/generations"
CREATED = Answer(202, job_body("queued", 0), {"Location": f"generations/{JOB}", "Retry-After": "1"})
GENERATE = ["generate", ORG, "--engine", "studio", "--prompt", "calm piano for studying", "--duration", "30"]


@pytest.fixture(autouse=True)
def settings(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FREDDY_API_KEY", API_KEY)
    monkeypatch.setenv("FREDDY_BASE_URL", server.url)
    monkeypatch.chdir(tmp_path)


def succeeding(server: ScriptedServer, **track: object) -> None:
    """The job is created, runs, succeeds; its audio is served by the scripted server."""
    audio_url = f"{server.url}/storage/audio.mp3?sig=1"
    succeeded = job_body("succeeded", 100, playback_url=audio_url)
    succeeded["track"] |= track
    server.script(GENERATIONS_PATH, CREATED)
    server.script(JOB_PATH, job_answer("running", 60, "1"), Answer(200, succeeded))
    server.script("/storage/audio.mp3", Answer(200, AUDIO))


def test_generate_creates_watches_and_saves_the_audio(
    server: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    succeeding(server)
    output = tmp_path / "new-track.mp3"

    code = main([*GENERATE, "--title", "Late Night Study", "--instrumental", "--mode", "focus", "-o", str(output)])

    out, err = capsys.readouterr()
    assert (code, err) == (ExitCode.SUCCEEDED, "")
    assert out.splitlines() == watched_lines(output)
    assert output.read_bytes() == AUDIO
    create, *_ = server.received
    assert (create.method, create.path) == ("POST", GENERATIONS_PATH)
    assert json.loads(create.body) == {
        "engine": "studio",
        "prompt": "calm piano for studying",
        "duration_seconds": 30,
        "mode": "focus",
        "instrumental": True,
        "title": "Late Night Study",
    }
    assert [request.method for request in server.requests_to(JOB_PATH)] == ["GET", "GET"]


def test_without_output_the_audio_gets_a_new_file_named_after_the_title(
    server: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    succeeding(server, title="Late Night Study: Rain/Piano?")
    taken = tmp_path / "late-night-study-rain-piano.mp3"
    taken.write_bytes(b"an earlier track")

    assert main(GENERATE) == ExitCode.SUCCEEDED

    saved = Path("late-night-study-rain-piano-2.mp3")
    assert capsys.readouterr().out.splitlines()[-1] == f"saved {saved} ({len(AUDIO):,} bytes)"
    assert (tmp_path / saved).read_bytes() == AUDIO
    assert taken.read_bytes() == b"an earlier track", "an existing file is never overwritten by default"


def test_a_title_with_nothing_usable_names_the_file_after_the_job(server: ScriptedServer, tmp_path: Path) -> None:
    succeeding(server, title="???", mime_type="audio/wav")

    assert main(GENERATE) == ExitCode.SUCCEEDED

    assert (tmp_path / f"{JOB}.wav").read_bytes() == AUDIO


@pytest.mark.parametrize(
    ("job_path_answer", "create_answer", "expected", "message"),
    [
        (job_answer("failed", 67), CREATED, ExitCode.FAILED, "failed: The engine could not finish"),
        (job_answer("refused", 0), CREATED, ExitCode.REFUSED, "was refused: The prompt asks"),
        (job_answer("cancelled", 12), CREATED, ExitCode.CANCELLED, "was cancelled"),
        (job_answer("queued", 0, "5"), CREATED, ExitCode.TIMEOUT, "did not end within 1 s"),
        (
            None,
            Answer(422, envelope(422, "VALIDATION_ERROR", "client_error", field="duration_seconds")),
            ExitCode.ERROR,
            "HTTP 422 VALIDATION_ERROR",
        ),
        (
            None,
            Answer(409, envelope(409, "IDEMPOTENCY_KEY_REUSED", "client_error")),
            ExitCode.ERROR,
            "HTTP 409 IDEMPOTENCY_KEY_REUSED",
        ),
        (
            None,
            Answer(403, envelope(403, "ORGANIZATION_ACCESS_DENIED", "authorization_error")),
            ExitCode.PERMISSION_DENIED,
            "HTTP 403",
        ),
    ],
    ids=["failed", "refused", "cancelled", "timeout", "422", "key-reused", "403"],
)
def test_each_ending_has_the_exit_code_watch_gives_it(
    server: ScriptedServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    *,
    job_path_answer: Answer | None,
    create_answer: Answer,
    expected: ExitCode,
    message: str,
) -> None:
    server.script(GENERATIONS_PATH, create_answer)
    if job_path_answer is not None:
        server.script(JOB_PATH, job_path_answer)

    code = main([*GENERATE, "--timeout", "1"])

    _, err = capsys.readouterr()
    assert code == expected
    assert err.startswith("freddy-music: ")
    assert message in err
    assert list(tmp_path.iterdir()) == [], "no audio, and no partial file left behind"


@pytest.mark.parametrize(
    "arguments",
    [
        ["generate", ORG, "--prompt", "calm piano", "--duration", "30"],
        ["generate", ORG, "--engine", "studio", "--duration", "30"],
        ["generate", ORG, "--engine", "studio", "--prompt", "calm piano"],
        [*GENERATE[:-1], "0"],
        [*GENERATE[:-1], "1.5"],
        [*GENERATE[:-1], "-3"],
        [*GENERATE, "--mode", "album"],
        ["generate", "--engine", "studio", "--prompt", "calm piano", "--duration", "30"],
    ],
    ids=["no-engine", "no-prompt", "no-duration", "zero", "fraction", "negative", "bad-mode", "no-org"],
)
def test_bad_arguments_are_a_usage_error_and_send_nothing(
    server: ScriptedServer, arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        main(arguments)

    assert raised.value.code == ExitCode.USAGE
    assert "usage: freddy-music generate" in capsys.readouterr().err
    assert server.received == []
