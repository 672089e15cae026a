"""make bench: our functions against the bare minimum (benchmarks/bare_*.py), side by side, in one run.

A moto server on loopback holds the demo data. Every measurement runs in fresh child processes, so the
emulator's own threads never count towards the functions' CPU time:

- cold init: import the handler module and create its clients (Lambda's INIT), >= 15 processes each;
- warm request: >= 2000 invocations in one process, CPU time per request;
- peak RSS of each process; presign microseconds per URL; ``python -X importtime`` top 15 per function.

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
TARGETS = {
    "handler": ("functions/get_generation/app.py", "events/get_generation_succeeded.json"),
    "bare_handler": ("benchmarks/bare_handler.py", "events/get_generation_succeeded.json"),
    "authorizer": ("functions/authorizer/app.py", "events/authorizer_valid_key.json"),
    "bare_authorizer": ("benchmarks/bare_authorizer.py", "events/authorizer_valid_key.json"),
}
# The template function each target stands for: it runs with that function's environment and execution role.
FUNCTION_OF = {
    "handler": "GetGenerationFunction",
    "bare_handler": "GetGenerationFunction",
    "authorizer": "AuthorizerFunction",
    "bare_authorizer": "AuthorizerFunction",
}
WARM_ROUNDS = 4  # fresh processes per function for the warm measurement, alternating with the bare one
TARGETS_MET = {
    "cold_init_ratio": 1.10,
    "warm_request_ratio": 1.05,
    "peak_rss_ratio": 1.20,
    "authorizer_cold_ratio": 1.10,
    "authorizer_warm_ratio": 1.05,
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
        for name, function in FUNCTION_OF.items()
    }
    try:
        # Interleaved (ours, bare, ours, bare, ...) so that drifting background load hits both sides alike.
        cold_runs: dict[str, list[dict[str, Any]]] = {name: [] for name in TARGETS}
        for _ in range(cold):
            for name, (module_file, _event) in TARGETS.items():
                cold_runs[name].append(_worker(environments[name], "cold", module_file))
        warm_runs: dict[str, dict[str, list[Any]]] = {
            name: {"cpu_us": [], "wall_us": [], "rss": []} for name in TARGETS
        }
        rounds = max(1, min(WARM_ROUNDS, warm))
        for round_index in range(rounds):
            count = warm // rounds + (1 if round_index < warm % rounds else 0)
            for name, (module_file, event_file) in TARGETS.items():
                measured = _worker(environments[name], "warm", module_file, event_file, str(count))
                warm_runs[name]["cpu_us"] += measured["cpu_us"]
                warm_runs[name]["wall_us"] += measured["wall_us"]
                warm_runs[name]["rss"].append(measured["peak_rss_kb"])
        results: dict[str, Any] = {
            "cold": {
                name: {
                    "init_ms_median": statistics.median(r["init_ms"] for r in runs),
                    "peak_rss_kb_median": statistics.median(r["peak_rss_kb"] for r in runs),
                }
                for name, runs in cold_runs.items()
            },
            "warm": {
                name: {
                    "cpu_us_p50": statistics.median(runs["cpu_us"]),
                    "cpu_us_p99": _percentile(runs["cpu_us"], 0.99),
                    "wall_us_p50": statistics.median(runs["wall_us"]),
                    "peak_rss_kb": max(runs["rss"]),
                    "invocations": len(runs["cpu_us"]),
                }
                for name, runs in warm_runs.items()
            },
        }
        presign = _worker(environments["handler"], "presign", str(max(warm, 100)))
        importtime = {
            "handler": _importtime(environments["handler"], TARGETS["handler"][0]),
            "authorizer": _importtime(environments["authorizer"], TARGETS["authorizer"][0]),
        }
    finally:
        stack.stop()

    cold_summary, warm_summary = results["cold"], results["warm"]
    summary = {
        "cold_init_ratio": cold_summary["handler"]["init_ms_median"] / cold_summary["bare_handler"]["init_ms_median"],
        "warm_request_ratio": warm_summary["handler"]["cpu_us_p50"] / warm_summary["bare_handler"]["cpu_us_p50"],
        "peak_rss_ratio": warm_summary["handler"]["peak_rss_kb"] / warm_summary["bare_handler"]["peak_rss_kb"],
        "authorizer_cold_ratio": cold_summary["authorizer"]["init_ms_median"]
        / cold_summary["bare_authorizer"]["init_ms_median"],
        "authorizer_warm_ratio": warm_summary["authorizer"]["cpu_us_p50"]
        / warm_summary["bare_authorizer"]["cpu_us_p50"],
        "presign_us": presign["presign_us_median"],
    }
    report = {
        **{key: round(value, 3) for key, value in summary.items()},
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
        f"{'':18}{'cold init ms':>14}{'warm CPU us p50':>17}{'p99':>9}{'peak RSS MB':>13}",
    ]
    for name in TARGETS:
        lines.append(
            f"{name:18}{cold[name]['init_ms_median']:>14.1f}{warm[name]['cpu_us_p50']:>17.0f}"
            f"{warm[name]['cpu_us_p99']:>9.0f}{warm[name]['peak_rss_kb'] / 1024:>13.1f}"
        )
    lines.append("")
    for key, target in report["targets"].items():
        verdict = "ok" if report[key] <= target else "OVER"
        lines.append(f"{key:24}{report[key]:>7.3f}  (target <= {target:.2f}) {verdict}")
    lines.append(f"{'presign_us':24}{report['presign_us']:>7.1f}")
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
