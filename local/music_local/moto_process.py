"""The moto server in a process of its own: ``python -m music_local.moto_process`` prints its endpoint, serves until
its standard input closes (so it never outlives the process that started it), and publishes what changed;
``MotoProcess`` starts it and answers as ``MotoServer`` does (``endpoint``, ``reset``, ``changes``, ``stop``).

The tests' emulator runs this way. In a pytest worker's own process, moto would share the worker's GIL and run
under coverage's tracer, which on Python 3.12+ slows every line of every module once tracing is on, moto's
included: the integration tests take 30 % less CPU with moto outside (docs/testing.md).
"""

import json
import os
import select
import shutil
import subprocess  # nosec B404
import sys
import tempfile
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO, cast

from music_local.changes import Changes
from music_local.emulator import CHANGES_PATH, MotoServer, reset_moto

START_TIMEOUT_SECONDS = 60  # importing moto on a loaded two-core machine; about 1 s alone


class MotoProcessError(RuntimeError):
    """The moto process did not start; the message holds what it printed."""


class MotoProcess:
    def __init__(self, environment: Mapping[str, str] | None = None) -> None:
        self._environment = {**os.environ, **(environment or {})}
        self._process: subprocess.Popen[str] | None = None
        self._output = Path(tempfile.mkdtemp(prefix="moto-process-")) / "output.txt"
        self.endpoint = ""
        self.resets = 0  # how many times ``reset`` forgot everything: a stack built before is gone

    def start(self) -> str:
        with self._output.open("wb") as output:
            self._process = subprocess.Popen(  # noqa: S603 - this interpreter, this module  # nosec B603
                [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=output,
                env=self._environment,
                text=True,
            )
        stdout = cast("IO[str]", self._process.stdout)
        # The first line is the endpoint; none by the deadline, or an empty one (the process ended), is a failure.
        if select.select([stdout], [], [], START_TIMEOUT_SECONDS)[0]:
            self.endpoint = stdout.readline().strip()
        stdout.close()
        if not self.endpoint:
            printed = self._output.read_text(errors="replace")
            self.stop()
            raise MotoProcessError("the moto process did not start:\n" + printed)
        return self.endpoint

    def reset(self) -> None:
        """As ``MotoServer.reset``."""
        reset_moto(self.endpoint)
        self.resets += 1

    def changes(self) -> Changes:
        """What the requests since the last call changed (music_local.changes)."""
        with urllib.request.urlopen(self.endpoint + CHANGES_PATH, timeout=10) as answer:  # noqa: S310 # nosec B310
            return Changes(**json.load(answer))

    def stop(self) -> None:
        if self._process is not None:
            if self._process.stdin is not None:
                self._process.stdin.close()  # the process's cue to stop
            try:
                self._process.wait(timeout=START_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._output.parent, ignore_errors=True)


def main() -> None:
    server = MotoServer(publish_changes=True)
    print(server.start(), flush=True)
    sys.stdin.read()  # until the starting process closes it, or ends
    server.stop()


if __name__ == "__main__":
    main()
