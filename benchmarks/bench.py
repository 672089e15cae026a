"""make bench: our functions against the bare minimum (benchmarks/bare_*.py) and the idiomatic Powertools peer
(benchmarks/peer_handler.py), side by side, in one run.

A moto server on loopback holds the demo data. Every measurement runs in fresh child processes, so the
emulator's own threads never count towards the functions' CPU time:

- cold start: import the handler module (Lambda's INIT) and answer one event, >= 15 processes each; CPU time;
- warm request: >= 2000 invocations in >= 4 processes, CPU time per request;
- each process's own peak RSS (VmHWM); presign microseconds per URL; ``python -X importtime`` top 15 of each.

Usage: python benchmarks/bench.py [--cold N] [--warm N] [--output PATH]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess  # nosec B404
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("worker.py")
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "latest.json"
# Every function of the API and its yardsticks, one line each: (module with lambda_handler, event it answers,
# the template function it stands for: it runs with that function's environment and execution role).
TARGETS = {
    "handler": ("functions/get_generation/app.py", "events/get_generation_succeeded.json", "GetGenerationFunction"),
    "bare_handler": ("benchmarks/bare_handler.py", "events/get_generation_succeeded.json", "GetGenerationFunction"),
    "peer_handler": ("benchmarks/peer_handler.py", "events/get_generation_succeeded.json", "GetGenerationFunction"),
    "authorizer": ("functions/authorizer/app.py", "events/authorizer_valid_key.json", "AuthorizerFunction"),
    "bare_authorizer": ("benchmarks/bare_authorizer.py", "events/authorizer_valid_key.json", "AuthorizerFunction"),
    # GET /tracks: one GetItem like GET, three URLs signed (the master and two stems).
    "track": ("functions/get_track/app.py", "events/get_track_with_stems.json", "GetTrackFunction"),
}
WARM_ROUNDS = 4  # fresh processes per function for the warm measurement, alternating between functions
# key in latest.json: (measurement, ours, yardstick); the ratio is ours / yardstick.
RATIOS = {
    "cold_init_ratio": ("cold_cpu_ms", "handler", "bare_handler"),
    "warm_request_ratio": ("cpu_us_p50", "handler", "bare_handler"),
    "peak_rss_ratio": ("peak_rss_kb", "handler", "bare_handler"),
    "authorizer_cold_ratio": ("cold_cpu_ms", "authorizer", "bare_authorizer"),
    "authorizer_warm_ratio": ("cpu_us_p50", "authorizer", "bare_authorizer"),
    "authorizer_rss_ratio": ("peak_rss_kb", "authorizer", "bare_authorizer"),
    "peer_cold_ratio": ("cold_cpu_ms", "handler", "peer_handler"),
    "peer_warm_ratio": ("cpu_us_p50", "handler", "peer_handler"),
    "peer_rss_ratio": ("peak_rss_kb", "handler", "peer_handler"),
    "track_cold_ratio": ("cold_cpu_ms", "track", "handler"),
    "track_warm_ratio": ("cpu_us_p50", "track", "handler"),
}
TARGETS_MET = {
    "cold_init_ratio": 1.10,
    "warm_request_ratio": 1.05,
    "peak_rss_ratio": 1.10,
    "authorizer_cold_ratio": 1.15,
    "authorizer_warm_ratio": 1.10,
    "peer_cold_ratio": 0.80,
    "peer_warm_ratio": 0.80,
    "presign_us": 100,
}


def _worker(environment: dict[str, str], *args: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as result:
        subprocess.run(  # noqa: S603 - our own worker script # nosec B603
            [sys.executable, str(WORKER), result.name, *args],
            env=environment,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            check=True,
            timeout=600,
        )
        measured: dict[str, Any] = json.loads(Path(result.name).read_text())
        return measured


def _importtime(environment: dict[str, str], module_file: str) -> list[tuple[float, str]]:
    directory = ROOT / Path(module_file).parent
    completed = subprocess.run(  # noqa: S603 - the interpreter running this script # nosec B603
        [sys.executable, "-X", "importtime", "-c", f"import {Path(module_file).stem}"],
        env=environment,
        cwd=directory,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    rows = []
    for line in completed.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
            rows.append((int(cumulative) / 1000, name))
    return sorted(rows, reverse=True)[:15]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def run(cold: int, warm: int, output: Path) -> dict[str, Any]:
    sys.path[:0] = [str(ROOT / "local")]
    from music_local.fixtures import DEMO_FIXTURES  # noqa: PLC0415
    from music_local.stack import start_stack  # noqa: PLC0415 - after the path is set

    stack = start_stack(DEMO_FIXTURES, log_level="INFO")
    measured_as = {"POWERTOOLS_METRICS_DISABLED": "false", "PYTHONDONTWRITEBYTECODE": "1"}
    environments = {
        name: dict(os.environ) | stack.functions[function].environment | measured_as
        for name, (_, _, function) in TARGETS.items()
    }
    try:
        # Interleaved (each function in turn, round after round) so that drifting background load hits all alike.
        cold_runs: dict[str, list[dict[str, Any]]] = {name: [] for name in TARGETS}
        for _ in range(cold):
            for name, (module_file, event_file, _function) in TARGETS.items():
                cold_runs[name].append(_worker(environments[name], "cold", module_file, event_file))
        warm_runs: dict[str, dict[str, list[Any]]] = {
            name: {"cpu_us": [], "wall_us": [], "rss": []} for name in TARGETS
        }
        rounds = max(1, min(WARM_ROUNDS, warm))
        for round_index in range(rounds):
            count = warm // rounds + (1 if round_index < warm % rounds else 0)
            for name, (module_file, event_file, _function) in TARGETS.items():
                measured = _worker(environments[name], "warm", module_file, event_file, str(count))
                warm_runs[name]["cpu_us"] += measured["cpu_us"]
                warm_runs[name]["wall_us"] += measured["wall_us"]
                warm_runs[name]["rss"].append(measured["peak_rss_kb"])
        presign = _worker(environments["handler"], "presign", str(max(warm, 100)))
        importtime = {name: _importtime(environments[name], module) for name, (module, _, _) in TARGETS.items()}
    finally:
        stack.stop()

    cold_summary = {
        name: {
            "cold_cpu_ms": statistics.median(r["cold_cpu_ms"] for r in runs),
            "init_ms": statistics.median(r["init_ms"] for r in runs),
            "first_request_ms": statistics.median(r["first_request_ms"] for r in runs),
            "peak_rss_kb": statistics.median(r["peak_rss_kb"] for r in runs),
        }
        for name, runs in cold_runs.items()
    }
    warm_summary = {
        name: {
            "cpu_us_p50": statistics.median(runs["cpu_us"]),
            "cpu_us_p99": _percentile(runs["cpu_us"], 0.99),
            "wall_us_p50": statistics.median(runs["wall_us"]),
            "peak_rss_kb": max(runs["rss"]),
            "invocations": len(runs["cpu_us"]),
        }
        for name, runs in warm_runs.items()
    }
    # Peak RSS of a function: its warm processes' (INIT, then every request), the larger of the two anyway.
    measured_by_name = {name: cold_summary[name] | warm_summary[name] for name in TARGETS}
    ratios = {
        key: measured_by_name[ours][measurement] / measured_by_name[yardstick][measurement]
        for key, (measurement, ours, yardstick) in RATIOS.items()
    }
    report = {
        **{key: round(value, 3) for key, value in ratios.items()},
        "presign_us": round(presign["presign_us_median"], 1),
        "presign_boto3_us": round(presign["presign_boto3_us_median"], 1),
        "targets": TARGETS_MET,
        "counts": {"cold_processes": cold, "warm_invocations": warm},
        "cold": cold_summary,
        "warm": warm_summary,
        "importtime_top15_ms": importtime,
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            **{name: metadata.version(name) for name in ("boto3", "botocore", "pydantic", "aws-lambda-powertools")},
        },
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    return report


def render(report: dict[str, Any]) -> str:
    cold, warm = report["cold"], report["warm"]
    lines = [
        f"{'':18}{'cold CPU ms':>13}{'INIT ms':>9}{'1st req ms':>12}{'warm CPU us p50':>17}{'p99':>8}"
        f"{'peak RSS MB':>13}",
    ]
    for name in TARGETS:
        lines.append(
            f"{name:18}{cold[name]['cold_cpu_ms']:>13.1f}{cold[name]['init_ms']:>9.1f}"
            f"{cold[name]['first_request_ms']:>12.1f}{warm[name]['cpu_us_p50']:>17.0f}"
            f"{warm[name]['cpu_us_p99']:>8.0f}{warm[name]['peak_rss_kb'] / 1024:>13.1f}"
        )
    lines.append("")
    for key in [*RATIOS, "presign_us", "presign_boto3_us"]:
        target = report["targets"].get(key)
        verdict = "" if target is None else f"  (target <= {target}) {'ok' if report[key] <= target else 'OVER'}"
        lines.append(f"{key:24}{report[key]:>8.3f}{verdict}")
    for function, rows in report["importtime_top15_ms"].items():
        lines.append(f"\npython -X importtime, {function}, top 15 (cumulative ms):")
        lines += [f"  {ms:8.1f}  {name}" for ms, name in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", type=int, default=15, help="fresh processes per function (default 15)")
    parser.add_argument("--warm", type=int, default=2000, help="warm invocations per function (default 2000)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    report = run(args.cold, args.warm, args.output)
    print(render(report))
    print(f"\nwritten: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
