"""freddy-music: exit codes, plain output for pipes, a live bar for terminals."""

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from freddy_music.cli import EXIT_CODE_MEANINGS, ExitCode, main
from tests.helpers.client import API_KEY, AUDIO, JOB, JOB_PATH, ORG, envelope, job_answer, job_body, watched_lines
from tests.helpers.scripted_server import Answer, ScriptedServer

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# What server text must never bring to a terminal: C0 (but the lines' own newlines), DEL, C1, and the format
# characters that reorder or hide text (bidi overrides and isolates, zero-width characters).
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
HOSTILE = "Night\x1b[31mDrive\x1b]0;pwned\x07\x9b2J\u202eevil\x00"


@pytest.fixture(autouse=True)
def settings(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FREDDY_API_KEY", API_KEY)
    monkeypatch.setenv("FREDDY_BASE_URL", server.url)


def test_watch_prints_plain_lines_the_summary_and_saves_the_audio(
    server: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audio_url = f"{server.url}/storage/audio.mp3?sig=1"
    server.script(JOB_PATH, job_answer("running", 60, "1"), job_answer("succeeded", 100, playback_url=audio_url))
    server.script("/storage/audio.mp3", Answer(200, AUDIO))
    output = tmp_path / "track.mp3"

    code = main(["watch", ORG, JOB, "--output", str(output)])

    out, err = capsys.readouterr()
    assert code == ExitCode.SUCCEEDED
    assert out.splitlines() == watched_lines(output)
    assert not CONTROL_CHARACTERS.search(out)
    assert err == ""
    assert output.read_bytes() == AUDIO


def test_get_prints_the_answer_as_it_came(server: ScriptedServer, capsys: pytest.CaptureFixture[str]) -> None:
    body = job_body("running", 42, a_future_field=[1, 2])
    server.script(JOB_PATH, Answer(200, body))

    code = main(["get", ORG, JOB])

    assert code == 0
    assert json.loads(capsys.readouterr().out) == body


@pytest.mark.parametrize(
    ("command", "answer", "expected", "message"),
    [
        ("watch", job_answer("failed", 67), ExitCode.FAILED, "failed: The engine could not finish"),
        ("watch", job_answer("cancelled", 12), ExitCode.CANCELLED, "was cancelled"),
        ("watch", job_answer("refused", 0), ExitCode.REFUSED, "was refused: The prompt asks"),
        ("watch", job_answer("running", 42, "5"), ExitCode.TIMEOUT, "did not end within 1 s"),
        (
            "get",
            Answer(401, envelope(401, "AUTHENTICATION_REQUIRED", "authentication_error")),
            ExitCode.AUTHENTICATION,
            "HTTP 401",
        ),
        (
            "watch",
            Answer(403, envelope(403, "ORGANIZATION_ACCESS_DENIED", "authorization_error")),
            ExitCode.PERMISSION_DENIED,
            "HTTP 403",
        ),
        ("watch", Answer(404, envelope(404, "RESOURCE_NOT_FOUND", "client_error")), ExitCode.NOT_FOUND, "HTTP 404"),
        (
            "get",
            Answer(400, envelope(400, "VALIDATION_ERROR", "client_error", field="job_id")),
            ExitCode.ERROR,
            "HTTP 400",
        ),
        (
            "get",
            Answer(503, b"upstream timed out", {"Retry-After": "1"}),
            ExitCode.ERROR,
            "HTTP 503 HTTP_503: upstream",
        ),
        ("get", Answer(200, b"not json"), ExitCode.ERROR, "not JSON"),
    ],
)
def test_each_ending_has_its_exit_code_and_says_why_on_stderr(
    server: ScriptedServer,
    capsys: pytest.CaptureFixture[str],
    *,
    command: str,
    answer: Answer,
    expected: ExitCode,
    message: str,
) -> None:
    server.script(JOB_PATH, answer)

    code = main(["--max-retries", "0", command, ORG, JOB, *(["--timeout", "1"] if command == "watch" else [])])

    _, err = capsys.readouterr()
    assert code == expected
    assert err.startswith("freddy-music: ")
    assert message in err


def test_without_an_api_key_it_is_a_usage_error_naming_both_ways_to_give_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FREDDY_API_KEY")

    assert main(["get", ORG, JOB]) == ExitCode.USAGE
    assert capsys.readouterr().err == "freddy-music: no API key: set FREDDY_API_KEY, or pass --api-key\n"


def test_engines_prints_the_catalogue_as_it_came(server: ScriptedServer, capsys: pytest.CaptureFixture[str]) -> None:
    body = {"engines": [{"key": "studio", "max_duration_seconds": 300, "a_future_field": True}]}
    server.script(f"/v1/music/{ORG}/engines", Answer(200, body))

    assert main(["engines", ORG]) == ExitCode.SUCCEEDED
    assert json.loads(capsys.readouterr().out) == body


def test_server_text_never_reaches_the_output_as_control_characters(
    server: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    succeeded = job_body("succeeded", 100, playback_url=f"{server.url}/storage/audio.mp3?sig=1")
    succeeded["track"]["title"] = HOSTILE
    server.script(JOB_PATH, Answer(200, job_body(HOSTILE, 10) | {"id": JOB}), Answer(200, succeeded))
    server.script("/storage/audio.mp3", Answer(200, AUDIO))

    code = main(["watch", ORG, JOB, "--output", str(tmp_path / "a.mp3")])

    out, err = capsys.readouterr()
    assert code == ExitCode.SUCCEEDED
    assert not UNSAFE.search(out + err)
    assert "Night\\x1b[31mDrive\\x1b]0;pwned\\x07\\x9b2J\\u202eevil\\x00" in out, "shown, escaped"


def test_an_error_message_from_the_server_is_shown_inert(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    body = envelope(400, "VALIDATION_ERROR", "client_error", field=HOSTILE)
    body["error"]["message"] = HOSTILE
    server.script(JOB_PATH, Answer(400, body))

    assert main(["get", ORG, JOB]) == ExitCode.ERROR
    out, err = capsys.readouterr()
    assert not UNSAFE.search(out + err.removesuffix("\n"))
    assert "\\u202eevil" in err


def test_printed_json_escapes_what_is_not_printable_and_stays_the_same_json(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    body = job_body("running", 42, error_message=HOSTILE, note="caf\u00e9 \u266b")
    server.script(JOB_PATH, Answer(200, body))

    assert main(["get", ORG, JOB]) == ExitCode.SUCCEEDED
    out = capsys.readouterr().out
    assert not UNSAFE.search(out.replace("\n", ""))
    assert json.loads(out) == body
    assert "caf\u00e9 \u266b" in out, "printable text stays as it is"


@pytest.mark.parametrize(
    "arguments",
    [[], ["watch", ORG], ["watch", ORG, JOB, "--timeout", "0"], ["watch", ORG, JOB, "--timeout", "soon"], ["list"]],
)
def test_bad_arguments_are_a_usage_error(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(arguments)

    assert raised.value.code == ExitCode.USAGE
    assert "usage: freddy-music" in capsys.readouterr().err


def test_the_exit_codes_are_distinct_and_documented() -> None:
    readme = (Path(__file__).resolve().parents[2] / "clients" / "python" / "README.md").read_text(encoding="utf-8")

    assert len({code.value for code in ExitCode}) == len(ExitCode)
    assert set(EXIT_CODE_MEANINGS) == set(ExitCode)
    for code, meaning in EXIT_CODE_MEANINGS.items():
        assert f"| {code.value} | {meaning} |" in readme


def watched_on_a_terminal(columns: int) -> str:
    """What ``freddy-music watch`` shows on a terminal ``columns`` wide (it must succeed)."""
    controller, terminal = pty.openpty()
    environment = os.environ | {"COLUMNS": str(columns), "TERM": "xterm"}
    process = subprocess.Popen(  # noqa: S603 - our own command, on loopback
        [sys.executable, "-m", "freddy_music", "watch", ORG, JOB], stdout=terminal, stderr=terminal, env=environment
    )
    os.close(terminal)
    shown = b""
    while chunk := _read(controller):
        shown += chunk
    os.close(controller)
    assert process.wait(timeout=30) == 0
    return shown.decode()


def test_a_terminal_gets_a_live_progress_bar(server: ScriptedServer) -> None:
    server.script(JOB_PATH, job_answer("running", 42, "1"), job_answer("succeeded", 100))

    text = watched_on_a_terminal(100)

    assert "\x1b[" in text, "styled and redrawn in place"
    assert re.search(r"running\s.*42%", re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text))
    assert "100%" in text
    assert "Late Night Study (mtrack_7c1a9e2f4b8d)" in text


def test_a_terminal_never_gets_the_servers_escape_sequences(server: ScriptedServer) -> None:
    server.script(JOB_PATH, Answer(200, job_body(f"[blink]{HOSTILE}", 42)), Answer(200, job_body("succeeded", 100)))

    text = watched_on_a_terminal(200)

    assert "\x1b[" in text, "the bar's own sequences"
    for injected in ("\x1b[31m", "\x1b]0;", "\x07", "\x9b", "\u202e", "\x00"):
        assert injected not in text


def _read(controller: int) -> bytes:
    try:
        return os.read(controller, 65536)
    except OSError:  # the terminal's other end closed: the command has ended
        return b""


def test_cancel_prints_the_job_as_it_is_now(server: ScriptedServer, capsys: pytest.CaptureFixture[str]) -> None:
    body = job_body("cancelled", 12)
    server.script(f"{JOB_PATH}/cancel", Answer(200, body))

    code = main(["cancel", ORG, JOB])

    assert code == 0
    assert json.loads(capsys.readouterr().out) == body
    assert [request.method for request in server.received] == ["POST"]


def test_list_prints_one_page_as_it_came(server: ScriptedServer, capsys: pytest.CaptureFixture[str]) -> None:
    body = {"jobs": [job_body("queued", 0)], "limit": 5, "offset": 10}
    server.script(f"/v1/music/{ORG}/generations", Answer(200, body))

    code = main(["list", ORG, "--status", "queued", "--limit", "5", "--offset", "10"])

    assert code == 0
    assert json.loads(capsys.readouterr().out) == body
    (request,) = server.received
    assert request.path == f"/v1/music/{ORG}/generations?limit=5&offset=10&status=queued"
