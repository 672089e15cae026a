"""Ctrl-C while watch or generate follows a job: on a terminal, an offer to cancel it; elsewhere, how to cancel.

The interrupt is a real SIGINT, sent once the first request has arrived (the command then pauses for the answer's
Retry-After or a backoff); the terminal's answer is what ``Keyboard`` has typed in, or a real pty in the last test.
"""

import io
import os
import select
import signal
import subprocess  # nosec B404
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from freddy_music.cli import ExitCode, main
from tests.helpers.client import API_KEY, JOB, JOB_PATH, ORG, envelope, job_answer, job_body
from tests.helpers.scripted_server import Answer, ScriptedServer

CANCEL_PATH = f"{JOB_PATH}/cancel"
GENERATIONS_PATH = f"/v1/music/{ORG}/generations"
CANCEL_HINT = f"freddy-music cancel {ORG} {JOB}"
PROMPT = f"Cancel job {JOB}? [y/N] "
DEADLINE_SECONDS = 10


class Keyboard(io.StringIO):
    """Standard input as a terminal on which ``typed`` has been typed (nothing: end of input)."""

    def isatty(self) -> bool:
        return True


class CtrlCAgain:
    """A terminal whose user answers the question with a second Ctrl-C."""

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        raise KeyboardInterrupt


@pytest.fixture(autouse=True)
def interruptible() -> Iterator[None]:
    """Ctrl-C as KeyboardInterrupt, which every test here relies on, however pytest was started. A non-interactive
    shell starts a background job (``make test &``) with SIGINT ignored, and Python then installs no handler: the
    SIGINT a test sends would do nothing. A handler set here is reset by exec, so the subprocess of the terminal
    test starts with SIGINT at its default and installs Python's own."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(autouse=True)
def settings(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FREDDY_API_KEY", API_KEY)
    monkeypatch.setenv("FREDDY_BASE_URL", server.url)
    # Running for the whole test: the command pauses 5 s between polls, and is interrupted in the first pause.
    server.script(JOB_PATH, job_answer("running", 42, "5"))


def first_request_seen(server: ScriptedServer, path: str = JOB_PATH) -> bool:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not server.requests_to(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@contextmanager
def ctrl_c_after_the_first_request(server: ScriptedServer, path: str = JOB_PATH) -> Iterator[None]:
    """SIGINT to this process once the command has sent its first request to ``path`` (never if it did not: it
    would hit pytest instead)."""
    sent = threading.Event()

    def interrupt() -> None:
        if first_request_seen(server, path):
            os.kill(os.getpid(), signal.SIGINT)
            sent.set()

    interrupter = threading.Thread(target=interrupt, daemon=True)
    interrupter.start()
    yield
    interrupter.join(timeout=DEADLINE_SECONDS)
    assert sent.is_set(), "the command never polled"


def run_interrupted(server: ScriptedServer, arguments: list[str]) -> int:
    with ctrl_c_after_the_first_request(server):
        return main([*arguments, "--timeout", "30"])


@pytest.mark.parametrize("command", ["watch", "generate"])
def test_yes_cancels_the_job_reports_its_state_and_exits_130(
    server: ScriptedServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    server.script(GENERATIONS_PATH, Answer(202, job_body("queued", 0), {"Retry-After": "5"}))
    server.script(CANCEL_PATH, Answer(200, job_body("running", 42)))
    monkeypatch.setattr(sys, "stdin", Keyboard("y\n"))
    arguments = (
        ["watch", ORG, JOB]
        if command == "watch"
        else ["generate", ORG, "--engine", "studio", "--prompt", "calm piano", "--duration", "30"]
    )

    code = run_interrupted(server, arguments)

    out, err = capsys.readouterr()
    assert code == ExitCode.INTERRUPTED
    assert PROMPT in err
    assert [request.method for request in server.requests_to(CANCEL_PATH)] == ["POST"]
    assert out.splitlines()[-2:] == [
        f"{JOB} running 42%",
        "cancel requested: the job stops at its next checkpoint",
    ]
    assert err.endswith("freddy-music: interrupted\n")


def test_a_job_cancelled_at_once_is_reported_cancelled(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script(CANCEL_PATH, Answer(200, job_body("cancelled", 42)))
    monkeypatch.setattr(sys, "stdin", Keyboard("yes\n"))

    assert run_interrupted(server, ["watch", ORG, JOB]) == ExitCode.INTERRUPTED

    assert capsys.readouterr().out.splitlines()[-1] == f"{JOB} cancelled 42%"


@pytest.mark.parametrize(
    "keyboard",
    [Keyboard("n\n"), Keyboard("\n"), Keyboard("maybe\n"), Keyboard(""), CtrlCAgain()],
    ids=["no", "enter", "anything-else", "end-of-input", "second-ctrl-c"],
)
def test_anything_but_yes_leaves_the_job_running_and_says_how_to_cancel_it(
    server: ScriptedServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    keyboard: Keyboard | CtrlCAgain,
) -> None:
    server.script(CANCEL_PATH, Answer(200, job_body("cancelled", 42)))
    monkeypatch.setattr(sys, "stdin", keyboard)

    code = run_interrupted(server, ["watch", ORG, JOB])

    _, err = capsys.readouterr()
    assert code == ExitCode.INTERRUPTED
    assert PROMPT in err
    assert CANCEL_HINT in err
    assert server.requests_to(CANCEL_PATH) == []


@pytest.mark.parametrize(
    "stdin",
    [io.StringIO("y\n"), None],  # a pipe that would say yes (nobody asks it), or standard input closed
    ids=["pipe", "closed"],
)
def test_without_a_terminal_it_does_not_ask_and_says_how_to_cancel(
    server: ScriptedServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin: io.StringIO | None,
) -> None:
    server.script(CANCEL_PATH, Answer(200, job_body("cancelled", 42)))
    monkeypatch.setattr(sys, "stdin", stdin)

    code = run_interrupted(server, ["watch", ORG, JOB])

    _, err = capsys.readouterr()
    assert code == ExitCode.INTERRUPTED
    assert "[y/N]" not in err
    assert f"freddy-music: job {JOB} goes on; to cancel it: {CANCEL_HINT}\n" in err
    assert server.requests_to(CANCEL_PATH) == []


def test_ctrl_c_while_creating_says_how_to_find_the_job_it_may_have_created(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script(GENERATIONS_PATH, Answer(503, envelope(503, "SERVICE_UNAVAILABLE", "server_error")))
    monkeypatch.setattr(sys, "stdin", Keyboard("y\n"))

    with ctrl_c_after_the_first_request(server, GENERATIONS_PATH):
        code = main(["generate", ORG, "--engine", "studio", "--prompt", "calm piano", "--duration", "30"])

    _, err = capsys.readouterr()
    assert code == ExitCode.INTERRUPTED
    assert f"the job may have been created; freddy-music list {ORG} --status queued shows it" in err
    assert "[y/N]" not in err, "no job id to cancel"
    assert server.requests_to(JOB_PATH) == []


def test_a_cancel_that_fails_says_so_and_still_exits_130(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script(CANCEL_PATH, Answer(503, envelope(503, "SERVICE_UNAVAILABLE", "server_error")))
    monkeypatch.setattr(sys, "stdin", Keyboard("y\n"))

    code = run_interrupted(server, ["watch", ORG, JOB])

    _, err = capsys.readouterr()
    assert code == ExitCode.INTERRUPTED
    assert "the cancel failed: HTTP 503 SERVICE_UNAVAILABLE" in err
    assert f"to try again: {CANCEL_HINT}" in err


def test_on_a_real_terminal_ctrl_c_then_y_cancels_the_job(server: ScriptedServer) -> None:
    server.script(CANCEL_PATH, Answer(200, job_body("running", 42)))
    controller, terminal = os.openpty()
    process = subprocess.Popen(  # noqa: S603 - our own command, on loopback
        [sys.executable, "-m", "freddy_music", "watch", ORG, JOB, "--timeout", "30"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=os.environ | {"COLUMNS": "100", "TERM": "xterm"},
    )
    os.close(terminal)
    try:
        assert first_request_seen(server)
        process.send_signal(signal.SIGINT)
        shown = read_until(controller, b"[y/N] ")
        os.write(controller, b"y\n")
        shown += read_until(controller, b"interrupted")
        assert process.wait(timeout=DEADLINE_SECONDS) == ExitCode.INTERRUPTED
    finally:
        process.kill()
        process.wait(timeout=DEADLINE_SECONDS)
        os.close(controller)

    text = shown.decode(errors="replace")
    assert PROMPT in text
    assert "cancel requested: the job stops at its next checkpoint" in text
    assert [request.method for request in server.requests_to(CANCEL_PATH)] == ["POST"]


def read_until(controller: int, marker: bytes) -> bytes:
    """What the terminal shows, up to and including ``marker``; bounded in time."""
    shown = b""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while marker not in shown and time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.1)
        if ready:
            try:
                shown += os.read(controller, 65536)
            except OSError:  # the terminal's other end closed: the command has ended
                break
    return shown
