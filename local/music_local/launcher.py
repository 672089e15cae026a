"""``python -m music_local`` as a child process: started on a free loopback port, awaited, stopped with Ctrl-C.

Used by the end-to-end tests and ``make load``, which both want the local API exactly as a user runs it.
"""

import os
import re
import signal
import socket
import subprocess  # nosec B404
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"Music generations API \(local\) on (http://127\.0\.0\.1:\d+)")


class LaunchError(RuntimeError):
    """The local API did not come up; the message holds what it printed."""


@dataclass
class LaunchedApi:
    url: str
    output: list[str] = field(default_factory=list)  # everything it printed, kept up to date
    exit_code: int | None = None  # once stopped


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_process(*arguments: str) -> "subprocess.Popen[str]":
    """The local API's process with ``arguments``; nothing of the caller's AWS or Powertools environment leaks in."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "POWERTOOLS_"))}
    return subprocess.Popen(  # noqa: S603 - our own module, with arguments we build  # nosec B603
        [sys.executable, "-m", "music_local", *arguments],
        cwd=ROOT,
        env=environment | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@contextmanager
def launched(*arguments: str, start_timeout_seconds: float = 60) -> Iterator[LaunchedApi]:
    """The local API on a free port (plus ``arguments``) until the block ends, then Ctrl-C and wait."""
    process = start_process("--port", str(free_port()), *arguments)
    if process.stdout is None:
        raise LaunchError("no output pipe")
    api = LaunchedApi(url="")
    deadline = time.monotonic() + start_timeout_seconds
    for line in process.stdout:
        api.output.append(line)
        if ready := READY.search(line):
            api.url = ready.group(1)
            break
        if time.monotonic() > deadline:
            break
    if not api.url:
        process.kill()
        process.wait(timeout=30)
        process.stdout.close()
        raise LaunchError("the local API did not start:\n" + "".join(api.output))
    # Keep reading what it prints (the banner's rest, access lines) so that the pipe never fills up.
    reader = threading.Thread(target=lambda: api.output.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        yield api
    finally:
        process.send_signal(signal.SIGINT)
        api.exit_code = process.wait(timeout=30)
        reader.join(timeout=5)
        process.stdout.close()
