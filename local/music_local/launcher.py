"""``python -m music_local`` as a child process: started on a free loopback port, awaited, stopped with Ctrl-C.

Used by the end-to-end tests and ``make load``, which both want the local API exactly as a user runs it.
"""

import os
import re
import shutil
import signal
import socket
import subprocess  # nosec B404
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
START_POLL_SECONDS = 0.05
READY = re.compile(r"Music generations API \(local\) on (http://127\.0\.0\.1:\d+)")


class LaunchError(RuntimeError):
    """The local API did not come up; the message holds what it printed."""


@dataclass
class LaunchedApi:
    url: str
    log: Path  # where everything it prints goes
    exit_code: int | None = None  # once stopped
    _final: list[str] | None = field(default=None, repr=False)  # the log's lines, once stopped

    @property
    def output(self) -> list[str]:
        """Every whole line it has printed so far (a line still being written is left for the next look)."""
        if self._final is not None:
            return self._final
        lines = self.log.read_text(errors="replace").splitlines(keepends=True)
        return lines if not lines or lines[-1].endswith("\n") else lines[:-1]

    def keep_output(self) -> None:
        """Once stopped: the log read whole, its file removed."""
        self._final = self.log.read_text(errors="replace").splitlines(keepends=True)
        shutil.rmtree(self.log.parent, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_process(*arguments: str, output: IO[str] | int = subprocess.PIPE) -> "subprocess.Popen[str]":
    """The local API's process with ``arguments``, printing to ``output`` (standard error too); nothing of the
    caller's AWS or Powertools environment leaks in."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "POWERTOOLS_"))}
    return subprocess.Popen(  # noqa: S603 - our own module, with arguments we build  # nosec B603
        [sys.executable, "-m", "music_local", *arguments],
        cwd=ROOT,
        env=environment | {"PYTHONUNBUFFERED": "1"},
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )


@contextmanager
def launched(*arguments: str, start_timeout_seconds: float = 60) -> Iterator[LaunchedApi]:
    """The local API on a free port (plus ``arguments``) until the block ends, then Ctrl-C and wait.

    What it prints goes to a file, read when asked (``LaunchedApi.output``): no thread of the caller's has to
    keep a pipe from filling up."""
    log = Path(tempfile.mkdtemp(prefix="local-api-")) / "output.txt"
    with log.open("w") as output:
        process = start_process("--port", str(free_port()), *arguments, output=output)
    api = LaunchedApi(url="", log=log)
    try:
        deadline = time.monotonic() + start_timeout_seconds
        while not api.url and process.poll() is None and time.monotonic() < deadline:
            if ready := READY.search("".join(api.output)):
                api.url = ready.group(1)
            else:
                time.sleep(START_POLL_SECONDS)
        if not api.url:
            process.kill()
            process.wait(timeout=30)
            raise LaunchError("the local API did not start:\n" + log.read_text(errors="replace"))
        try:
            yield api
        finally:
            process.send_signal(signal.SIGINT)
            api.exit_code = process.wait(timeout=30)
    finally:
        api.keep_output()
