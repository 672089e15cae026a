"""One measurement in a fresh process (run by bench.py): worker.py RESULT_FILE MODE ARGS...

- cold MODULE_FILE: import the module and create its clients, as Lambda's INIT does;
- warm MODULE_FILE EVENT_FILE N: N invocations, CPU and wall time of each;
- presign N: N presigned URLs through our signer.
"""

import time

STARTED = time.perf_counter()  # before any import that is being measured

import importlib.util  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402


class Context:
    function_name = "bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    memory_limit_in_mb = 512
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def load(module_file: str) -> Any:
    path = Path(module_file).resolve()
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ImportError(module_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if "functions" in path.parts:
        # Our clients are created on first use; INIT is import plus the clients the first request needs.
        from music_api.core.aws import aws_session, dynamodb_client, s3_client  # noqa: PLC0415

        dynamodb_client()
        if path.parent.name == "get_generation":
            s3_client()
            aws_session().get_credentials()
    return module


def peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def cold(module_file: str) -> dict[str, Any]:
    load(module_file)
    return {"init_ms": (time.perf_counter() - STARTED) * 1000, "peak_rss_kb": peak_rss_kb()}


def warm(module_file: str, event_file: str, count: str) -> dict[str, Any]:
    handler = load(module_file).lambda_handler
    event = json.loads(Path(event_file).read_text())
    context = Context()
    cpu, wall = [], []
    for index in range(int(count) + 20):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        handler(event, context)
        if index >= 20:  # the first requests warm connections and caches
            cpu.append((time.process_time() - started_cpu) * 1e6)
            wall.append((time.perf_counter() - started_wall) * 1e6)
    return {"cpu_us": cpu, "wall_us": wall, "peak_rss_kb": peak_rss_kb()}


def presign(count: str) -> dict[str, Any]:
    from music_api.generations.handler import _signer  # noqa: PLC0415
    from music_api.generations.settings import generation_settings  # noqa: PLC0415
    from music_api.generations.stored import StoredTrack  # noqa: PLC0415

    signer = _signer(generation_settings())
    track = StoredTrack(
        id="mtrack_7c1a9e2f4b8d",
        title="Late Night Study",
        engine="studio",
        mode="creation",
        instrumental=True,
        measured_duration_seconds=119.4,
        mime_type="audio/mpeg",
        licence_class="personal_only",
        audio_key="audio/org_abc123/mtrack_7c1a9e2f4b8d.mp3",
    )
    signer.sign(track)
    timings = []
    for _ in range(int(count)):
        started = time.perf_counter()
        signer.sign(track)
        timings.append((time.perf_counter() - started) * 1e6)
    timings.sort()
    return {"presign_us_median": timings[len(timings) // 2]}


if __name__ == "__main__":
    result_file, mode, *arguments = sys.argv[1:]
    modes: dict[str, Callable[..., dict[str, Any]]] = {"cold": cold, "warm": warm, "presign": presign}
    measured = modes[mode](*arguments)
    Path(result_file).write_text(json.dumps(measured))
