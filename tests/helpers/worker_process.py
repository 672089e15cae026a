"""A generation worker in a process of its own that dies mid-run, the ways a Lambda worker dies: ``python -m
tests.helpers.worker_process <how> <sqs event as JSON>`` with the worker's environment (its role's credentials,
the moto server's endpoint). The job is started and reports progress; then the process

- ``killed``: blocks until the test kills it by its PID (SIGKILL, as Lambda ends a runtime out of memory),
- ``timed-out``: is stopped by its own deadline (SIGALRM with no handler, as Lambda stops a runtime at its timeout),
- ``crashed``: exits at once from inside the engine (as a crash in native code between start and succeed).
"""

import json
import os
import signal
import sys
import time
from pathlib import Path

from music_api.worker import registry
from music_api.worker.engine import GeneratedTrack, GenerationRequest, Progress
from music_local.gateway import LambdaContext

HOW = sys.argv[1]


class DyingEngine:
    def generate(self, request: GenerationRequest, progress: Progress) -> GeneratedTrack:
        progress.report(0.5)
        print("running", flush=True)  # noqa: T201 - the test reads it: the job has started
        if HOW == "crashed":
            os._exit(70)
        if HOW == "timed-out":
            signal.alarm(1)
        while True:
            time.sleep(0.1)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "functions"))
    from generation_worker.app import lambda_handler  # the function's own entry point, once on the path

    registry.IMPLEMENTATIONS["synth"] = f"{__name__}:DyingEngine"
    lambda_handler(json.loads(sys.argv[2]), LambdaContext(function_name="GenerationWorkerFunction"))


if __name__ == "__main__":
    main()
