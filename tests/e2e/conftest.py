"""The local API as a user runs it: ``python -m music_local`` in a subprocess, on a free loopback port."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "local" / "demo.json"
READY = re.compile(r"Music generations API \(local\) on (http://127\.0\.0\.1:\d+)")
START_TIMEOUT_SECONDS = 60


@dataclass
class LocalApi:
    url: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_local_api(*extra_args: str) -> subprocess.Popen[str]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "POWERTOOLS_"))}
    environment |= {"PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(  # noqa: S603 - our own module, with arguments we build
        [sys.executable, "-m", "music_local", *extra_args],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="session")
def local_api() -> Iterator[LocalApi]:
    # DEBUG: every line the functions can log is written, so the hygiene check below sees all of them.
    process = start_local_api("--port", str(free_port()), "--log-level", "DEBUG")
    api = LocalApi(url="", process=process)
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    for line in process.stdout:
        api.output.append(line)
        if ready := READY.search(line):
            api.url = ready.group(1)
            break
        if time.monotonic() > deadline:
            break
    if not api.url:
        process.kill()
        pytest.fail("the local API did not start:\n" + "".join(api.output))
    # Keep reading what it prints (the banner's rest, access lines) so the pipe never fills up.
    reader = threading.Thread(target=lambda: api.output.extend(process.stdout or []), daemon=True)
    reader.start()
    yield api
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0, "Ctrl-C must stop the local API cleanly"
    reader.join(timeout=5)
    process.stdout.close()
    assert_no_secrets_logged(api.output, DEMO)


def assert_no_secrets_logged(output: list[str], fixtures: Path) -> None:
    """After every suite that used a server: no API key and no URL signature in any line it printed after
    its banner (the banner shows the demo key on purpose: that is the point of ``make run``)."""
    after_banner = "".join(output[next(i for i, line in enumerate(output) if line.startswith("Ctrl-C")) + 1 :])
    assert '"level":"DEBUG"' in after_banner, "the functions' logs must have been captured"
    assert "X-Amz-Signature" not in after_banner
    for key in (entry["key"] for entry in json.loads(fixtures.read_text())["api_keys"]):
        assert key not in after_banner
