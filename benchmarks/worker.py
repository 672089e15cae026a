"""One measurement in a fresh process (run by bench.py): worker.py RESULT_FILE MODE ARGS...

- cold MODULE_FILE EVENT_FILE: a Lambda cold start: import the module (INIT), then answer one event (``-`` for
  none: INIT only);
- warm MODULE_FILE EVENT_FILE N: N invocations after 20 unmeasured ones, CPU and wall time of each;
- presign N: N presigned URLs through our signer, and through boto3's S3 client for comparison.

Every mode also reports this process's own peak RSS, and how many modules were compiled from source (no usable
``.pyc``) while it ran, by where they came from.

As built (``BENCH_LAMBDA_PATH`` set, run with ``python -S``): ``sys.path`` is what Lambda sets, the function's
folder first, then the layer's two folders, then the standard library; nothing of the dev venv.
"""

import time

STARTED_WALL, STARTED_CPU = time.perf_counter(), time.process_time()  # before any import that is measured

import os  # noqa: E402
import sys  # noqa: E402
from importlib.machinery import SourceFileLoader  # noqa: E402

LAMBDA_PATH = [entry for entry in os.environ.get("BENCH_LAMBDA_PATH", "").split(os.pathsep) if entry]
if LAMBDA_PATH:
    sys.path[:] = [*LAMBDA_PATH, *sys.path[1:]]  # not this script's folder

# Every module compiled from source passes here; one loaded from a valid .pyc does not.
COMPILED: list[str] = []
_source_to_code = SourceFileLoader.source_to_code


def _counting_source_to_code(self: SourceFileLoader, data: bytes, path: str, *, _optimize: int = -1) -> object:
    COMPILED.append(path)
    return _source_to_code(self, data, path, _optimize=_optimize)


SourceFileLoader.source_to_code = _counting_source_to_code  # type: ignore[assignment,method-assign]

import importlib.util  # noqa: E402
import json  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

WARM_UP_INVOCATIONS = 20  # the first requests open connections and fill caches


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


class UnexpectedResponseError(Exception):
    """A function answered the benchmark event with an error: its timings would not be comparable."""


Handler = Callable[[dict[str, Any], Context], Any]


def load(module_file: str) -> Handler:
    path = Path(module_file).resolve()
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ImportError(module_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Handler = module.lambda_handler
    return handler


def check(response: Any) -> None:
    """No 5xx: the function must have done its work (a state-changing route may answer a repeat with a 4xx);
    the authorizer's policy has no status. bench.py checks the first answer of the compared functions is a 200."""
    if isinstance(response, dict) and response.get("statusCode", 200) >= 500:
        raise UnexpectedResponseError(f"status {response['statusCode']}: {response.get('body')}")


def compiled_from_source() -> dict[str, Any]:
    """The modules compiled so far, counted by the ``BENCH_LAMBDA_PATH`` entry they came from (else "other")."""
    counts: dict[str, int] = {}
    for path in COMPILED:
        origin = next((entry for entry in LAMBDA_PATH if path.startswith(entry + os.sep)), "other")
        counts[origin] = counts.get(origin, 0) + 1
    return {"counts": counts, "first": COMPILED[:5]}


def peak_rss_kb() -> int:
    """This process's own high-water mark (VmHWM). Not ``ru_maxrss``: Linux carries the parent's peak from before
    ``exec`` into a child's ``RUSAGE_SELF``, so a big bench parent would make every function look as big."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def cold(module_file: str, event_file: str) -> dict[str, Any]:
    event = None if event_file == "-" else json.loads(Path(event_file).read_text())
    handler = load(module_file)
    init_wall = time.perf_counter()
    status = None
    if event is not None:
        response = handler(event, Context())
        check(response)
        status = response.get("statusCode") if isinstance(response, dict) else None
    return {
        "init_ms": (init_wall - STARTED_WALL) * 1000,
        "first_request_ms": (time.perf_counter() - init_wall) * 1000,
        "cold_cpu_ms": (time.process_time() - STARTED_CPU) * 1000,
        "peak_rss_kb": peak_rss_kb(),
        "status": status,
        "compiled": compiled_from_source(),
    }


def warm(module_file: str, event_file: str, count: str) -> dict[str, Any]:
    event = json.loads(Path(event_file).read_text())
    handler = load(module_file)
    context = Context()
    for _ in range(WARM_UP_INVOCATIONS):
        check(handler(event, context))
    cpu, wall = [], []
    for _ in range(int(count)):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        response = handler(event, context)
        cpu.append((time.process_time() - started_cpu) * 1e6)
        wall.append((time.perf_counter() - started_wall) * 1e6)
        check(response)
    return {"cpu_us": cpu, "wall_us": wall, "peak_rss_kb": peak_rss_kb()}


def presign(count: str) -> dict[str, Any]:
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    from music_api.jobs.models import StoredTrack  # noqa: PLC0415
    from music_api.jobs.settings import generation_settings  # noqa: PLC0415
    from music_api.jobs.signer import download_filename, signer_for  # noqa: PLC0415

    settings = generation_settings()
    signer = signer_for(settings)
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
    s3 = boto3.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    params = {
        "Bucket": settings.audio_bucket_name,
        "Key": track.audio_key,
        "ResponseContentType": track.mime_type,
        "ResponseContentDisposition": f'inline; filename="{download_filename(track)}"',
    }

    def ours() -> object:
        return signer.sign(track)

    def boto3s() -> object:
        return s3.generate_presigned_url("get_object", Params=params, ExpiresIn=settings.playback_url_ttl_seconds)

    medians = {}
    for name, sign in (("presign_us_median", ours), ("presign_boto3_us_median", boto3s)):
        sign()
        timings = []
        for _ in range(int(count)):
            started = time.perf_counter()
            sign()
            timings.append((time.perf_counter() - started) * 1e6)
        medians[name] = sorted(timings)[len(timings) // 2]
    return {**medians, "peak_rss_kb": peak_rss_kb()}


if __name__ == "__main__":
    result_file, mode, *arguments = sys.argv[1:]
    modes: dict[str, Callable[..., dict[str, Any]]] = {"cold": cold, "warm": warm, "presign": presign}
    measured = modes[mode](*arguments)
    Path(result_file).write_text(json.dumps(measured))
