"""make bench: our functions against the bare minimum (benchmarks/bare_*.py) and the idiomatic Powertools peer
(benchmarks/peer_handler.py), side by side, in one run.

A moto server on loopback holds the demo data. Every measurement runs in fresh child processes, so the
emulator's own threads never count towards the functions' CPU time:

- cold start: import the handler module (Lambda's INIT) and answer one event, >= 15 processes each; CPU time;
- warm request: >= 2000 invocations in >= 4 processes, CPU time per request;
- each process's own peak RSS (VmHWM); presign microseconds per URL; ``python -X importtime`` top 15 of each.

Twice: as built (the headline ratios) and from the dev tree. As built is what Lambda runs: every function of
template.yaml from the build directory (``make build``), the built layer copied read-only, ``sys.path`` as Lambda
sets it, no bytecode written, and the modules compiled from source during each cold start counted (the layer's
must be 0). The yardsticks run the same way, on the same built layer (the comparison is of code, not of
packaging); GET also runs on the layer without its bytecode (what SAM's python3.13 build ships). The dev tree is
the editable install in .venv, where every package has its ``__pycache__``.

Usage: python benchmarks/bench.py [--cold N] [--warm N] [--build-dir DIR] [--output PATH]
"""

import argparse
import importlib.util
import json
import os
import platform
import re
import shutil
import stat
import statistics
import subprocess  # nosec B404
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from music_local.fixtures import DEMO_FIXTURES
from music_local.stack import start_stack
from music_local.template import Template

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("worker.py")
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "latest.json"
DEFAULT_BUILD_DIR = ROOT / ".aws-sam" / "build"
EVENTS = ROOT / "events"
LAYER = "SharedLayer"
# Lambda's sys.path for a layer (after /var/task): both folders a layer's python packages may be in.
LAYER_PATHS = ("python/lib/python3.13/site-packages", "python")
# Dev tree: every function of the API and its yardsticks, one line each: (module with lambda_handler, event it
# answers, the template function it stands for: it runs with that function's environment and execution role).
TARGETS = {
    "handler": ("functions/get_generation/app.py", "events/get_generation_succeeded.json", "GetGenerationFunction"),
    "bare_handler": ("benchmarks/bare_handler.py", "events/get_generation_succeeded.json", "GetGenerationFunction"),
    "peer_handler": ("benchmarks/peer_handler.py", "events/get_generation_succeeded.json", "GetGenerationFunction"),
    "authorizer": ("functions/authorizer/app.py", "events/authorizer_valid_key.json", "AuthorizerFunction"),
    "bare_authorizer": ("benchmarks/bare_authorizer.py", "events/authorizer_valid_key.json", "AuthorizerFunction"),
    # GET /tracks: one GetItem like GET, three URLs signed (the master and two stems).
    "track": ("functions/get_track/app.py", "events/get_track_with_stems.json", "GetTrackFunction"),
}
# As built, every function of the template is measured; its event is events/<name>.json, else the first
# events/<name>_*.json (name: the logical id in snake case without "Function"), unless named here. A function
# without any event is measured for INIT only.
BENCH_EVENTS = {
    "GetGenerationFunction": "get_generation_succeeded.json",
    "AuthorizerFunction": "authorizer_valid_key.json",
    "GetTrackFunction": "get_track_with_stems.json",
    "CancelGenerationFunction": "cancel_generation_queued.json",
    "DispatchSweeperFunction": "dispatch_sweep.json",
}
# As built, the names the ratios use: ours are template functions, the yardsticks are files of benchmarks/.
BUILT_ALIASES = {"handler": "GetGenerationFunction", "authorizer": "AuthorizerFunction", "track": "GetTrackFunction"}
SOURCE_ONLY = "GetGenerationFunction, layer without bytecode"
# The boto3 of the python3.13 runtime, by distribution: its top-level module.
RUNTIME_PACKAGES = {
    "boto3": "boto3",
    "botocore": "botocore",
    "s3transfer": "s3transfer",
    "jmespath": "jmespath",
    "python-dateutil": "dateutil",
    "six": "six",
    "urllib3": "urllib3",
}
WARM_ROUNDS = 4  # fresh processes per function for the warm measurement, alternating between functions
OTHER_FUNCTIONS_WARM = 100  # warm invocations of the functions no ratio compares (state-changing ones included)
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
    "modules_compiled_at_cold_start": 0,
    "as_built_cold_speedup": None,  # >= 2.0: a floor, not a ceiling (see verdict)
    "cold_init_ratio": 1.10,
    "warm_request_ratio": 1.05,
    "peak_rss_ratio": 1.10,
    "authorizer_cold_ratio": 1.15,
    "authorizer_warm_ratio": 1.10,
    "peer_cold_ratio": 0.80,
    "peer_warm_ratio": 0.80,
    "presign_us": 100,
}
MINIMUM_SPEEDUP = 2.0


@dataclass(frozen=True)
class Candidate:
    """One thing measured: a module with ``lambda_handler``, its event (``None``: INIT only), the template
    function whose environment it runs with, and, as built, Lambda's ``sys.path`` (``None``: the dev venv)."""

    module_file: Path
    event_file: Path | None
    function: str
    lambda_path: tuple[str, ...] | None = None

    def command(self, *args: str) -> list[str]:
        isolation = [] if self.lambda_path is None else ["-S"]  # -S: no site-packages of the dev venv
        return [sys.executable, *isolation, str(WORKER), *args]

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        if self.lambda_path is None:
            return base
        return {key: value for key, value in base.items() if key != "PYTHONPATH"} | {
            "BENCH_LAMBDA_PATH": os.pathsep.join(self.lambda_path)
        }


def snake_case(logical_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", logical_id.removesuffix("Function")).lower()


def bench_event(logical_id: str) -> Path | None:
    if logical_id in BENCH_EVENTS:
        return EVENTS / BENCH_EVENTS[logical_id]
    name = snake_case(logical_id)
    candidates = [EVENTS / f"{name}.json", *sorted(EVENTS.glob(f"{name}_*.json"))]
    return next((path for path in candidates if path.is_file()), None)


def _read_only(tree: Path) -> None:
    for path in [tree, *tree.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _writable(tree: Path) -> None:
    for path in [tree, *tree.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def _dev_venv_package(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise SystemExit(f"{name} is not in the dev venv")
    return Path(spec.submodule_search_locations[0]) if spec.submodule_search_locations else Path(spec.origin)


def _check_same_version(distribution: str, layer_python: Path) -> None:
    pattern = f"{distribution.replace('-', '_')}-*.dist-info"
    built = next(layer_python.glob(pattern)).name.removesuffix(".dist-info").split("-")[1]
    if metadata.version(distribution) != built:
        raise SystemExit(f"{distribution}: the dev venv has {metadata.version(distribution)}, the layer {built}")


def native_for_this_machine(layer_python: Path) -> None:
    """Swap the layer's aarch64 extension modules for this machine's build of the same version from the dev venv
    (when this machine is not arm64): the only files of the layer not run as built."""
    if platform.machine() == "aarch64":
        return
    for library in layer_python.rglob("*.so"):
        package = library.relative_to(layer_python).parts[0]
        _check_same_version(package, layer_python)
        stem = library.name.split(".")[0]
        native = next(_dev_venv_package(package).glob(f"{stem}.*.so"))
        library.unlink()
        shutil.copy2(native, library.parent / native.name)


def runtime_boto3(layer_python: Path, destination: Path) -> Path:
    """A stand-in for the boto3 the python3.13 runtime ships (after /opt on ``sys.path``): the layer's pinned
    versions with all of botocore's data, from the dev venv, compiled. What the bare yardsticks, which need no
    layer, import; in ours and the peer the layer's copy comes first."""
    destination.mkdir(parents=True)
    for distribution, top_level in RUNTIME_PACKAGES.items():
        _check_same_version(distribution, layer_python)
        source = _dev_venv_package(top_level)
        if source.is_dir():
            shutil.copytree(source, destination / source.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, destination / source.name)
    subprocess.run(  # noqa: S603 - the interpreter running this script # nosec B603
        [sys.executable, "-m", "compileall", "-q", "-f", "--invalidation-mode", "unchecked-hash", str(destination)],
        stdout=subprocess.DEVNULL,
        check=True,
        timeout=600,
    )
    return destination


@contextmanager
def lambda_filesystem(build_dir: Path, functions: list[str]) -> Iterator[dict[str, Candidate]]:
    """The built artifact laid out as Lambda mounts it, read-only: each function's /var/task, /opt (the layer),
    a second /opt without the layer's bytecode, and the runtime's boto3. Yields the as-built candidates."""
    layer = build_dir / LAYER
    if not (layer / "python").is_dir():
        raise SystemExit(f"no built layer in {build_dir}: run make build first")
    with tempfile.TemporaryDirectory(prefix="bench-lambda-") as scratch:
        root = Path(scratch)
        shutil.copytree(layer, root / "opt")
        shutil.copytree(layer, root / "opt-source-only", ignore=shutil.ignore_patterns("__pycache__"))
        for copy in ("opt", "opt-source-only"):
            native_for_this_machine(root / copy / "python")
        runtime = str(runtime_boto3(root / "opt" / "python", root / "runtime"))
        opt = tuple(str(root / "opt" / path) for path in LAYER_PATHS)
        source_only = tuple(str(root / "opt-source-only" / path) for path in LAYER_PATHS)
        candidates = {}
        for function in functions:
            task = root / "task" / function
            shutil.copytree(build_dir / function, task)
            module = Template.load().function_code(function).module
            path = (str(task), *opt, runtime)
            candidates[function] = Candidate(task / f"{module}.py", bench_event(function), function, path)
        for name in ("bare_handler", "peer_handler", "bare_authorizer"):
            module_file, event_file, function = TARGETS[name]
            task = root / "task" / name
            task.mkdir(parents=True)
            shutil.copy2(ROOT / module_file, task / "app.py")
            layers = () if name.startswith("bare_") else opt
            candidates[name] = Candidate(task / "app.py", ROOT / event_file, function, (str(task), *layers, runtime))
        get = candidates[BUILT_ALIASES["handler"]]
        path = (str(get.module_file.parent), *source_only, runtime)
        candidates[SOURCE_ONLY] = Candidate(get.module_file, get.event_file, get.function, path)
        _read_only(root)
        try:
            yield candidates
        finally:
            _writable(root)


def _worker(candidate: Candidate, environment: dict[str, str], *args: str) -> dict[str, Any]:
    """One child's measurement. A child that fails is run once more: on this shared box the emulator sometimes
    answers after the functions' 5 s timeout (a 503); one that fails twice stops the bench."""
    for attempt in (1, 2):
        with tempfile.NamedTemporaryFile(suffix=".json") as result:
            completed = subprocess.run(  # noqa: S603 - our own worker script # nosec B603
                candidate.command(result.name, *args),
                env=candidate.environment(environment),
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                check=attempt == 2,
                timeout=600,
            )
            if completed.returncode == 0:
                measured: dict[str, Any] = json.loads(Path(result.name).read_text())
                return measured
        print(f"bench: {args[:2]} of {candidate.module_file} failed; once more", file=sys.stderr)
    raise AssertionError("unreachable: the second attempt raises")


def _importtime(candidate: Candidate, environment: dict[str, str]) -> list[tuple[float, str]]:
    module = candidate.module_file.stem
    if candidate.lambda_path is None:
        command = [sys.executable, "-X", "importtime", "-c", f"import {module}"]
        directory = candidate.module_file.parent
    else:
        path = json.dumps(list(candidate.lambda_path))
        command = [
            sys.executable,
            "-S",
            "-X",
            "importtime",
            "-c",
            f"import sys; sys.path[:0] = {path}; import {module}",
        ]
        directory = ROOT
    completed = subprocess.run(  # noqa: S603 - the interpreter running this script # nosec B603
        command,
        env=candidate.environment(environment),
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


def measure(
    candidates: dict[str, Candidate], environments: dict[str, dict[str, str]], cold: int, warm: dict[str, int]
) -> dict[str, dict[str, Any]]:
    """Cold starts and warm requests of every candidate, interleaved (each in turn, round after round) so that
    drifting background load hits all alike; medians."""
    cold_runs: dict[str, list[dict[str, Any]]] = {name: [] for name in candidates}
    for _ in range(cold):
        for name, candidate in candidates.items():
            event = "-" if candidate.event_file is None else str(candidate.event_file)
            cold_runs[name].append(
                _worker(candidate, environments[candidate.function], "cold", str(candidate.module_file), event)
            )
    warm_runs: dict[str, dict[str, list[Any]]] = {name: {"cpu_us": [], "wall_us": [], "rss": []} for name in warm}
    rounds = max(1, min(WARM_ROUNDS, *warm.values()))
    for round_index in range(rounds):
        for name, total in warm.items():
            candidate = candidates[name]
            count = total // rounds + (1 if round_index < total % rounds else 0)
            arguments = (str(candidate.module_file), str(candidate.event_file), str(count))
            measured = _worker(candidate, environments[candidate.function], "warm", *arguments)
            warm_runs[name]["cpu_us"] += measured["cpu_us"]
            warm_runs[name]["wall_us"] += measured["wall_us"]
            warm_runs[name]["rss"].append(measured["peak_rss_kb"])
    summary: dict[str, dict[str, Any]] = {}
    for name, runs in cold_runs.items():
        summary[name] = {
            "cold_cpu_ms": statistics.median(r["cold_cpu_ms"] for r in runs),
            "init_ms": statistics.median(r["init_ms"] for r in runs),
            "first_request_ms": statistics.median(r["first_request_ms"] for r in runs),
            "peak_rss_kb": statistics.median(r["peak_rss_kb"] for r in runs),
            "first_status": runs[0]["status"],
            "compiled": runs[0]["compiled"],
        }
        if name in warm_runs:
            measured = warm_runs[name]
            summary[name] |= {
                "cpu_us_p50": statistics.median(measured["cpu_us"]),
                "cpu_us_p99": _percentile(measured["cpu_us"], 0.99),
                "wall_us_p50": statistics.median(measured["wall_us"]),
                # Peak RSS of a function: its warm processes' (INIT, then every request), the larger anyway.
                "peak_rss_kb": max(summary[name]["peak_rss_kb"], *measured["rss"]),
                "invocations": len(measured["cpu_us"]),
            }
    return summary


def ratios(measured: dict[str, dict[str, Any]], aliases: dict[str, str]) -> dict[str, float]:
    def of(name: str) -> dict[str, Any]:
        return measured[aliases.get(name, name)]

    return {key: round(of(ours)[what] / of(yardstick)[what], 3) for key, (what, ours, yardstick) in RATIOS.items()}


def compiled_in(summary: dict[str, Any], entries: tuple[str, ...]) -> int:
    return sum(count for origin, count in summary["compiled"]["counts"].items() if origin in entries)


def run(cold: int, warm: int, build_dir: Path, output: Path, only: list[str] | None = None) -> dict[str, Any]:
    """Measure every function of the template as built, or only ``only`` besides those the ratios compare."""
    # The functions' own work is measured, not the worker behind the queue: jobs the create runs make stay queued.
    stack = start_stack(DEMO_FIXTURES, log_level="INFO", generation=False)
    functions = Template.load().resources_of_type("AWS::Serverless::Function")
    if only is not None:
        functions = [name for name in functions if name in {*only, *BUILT_ALIASES.values()}]
    measured_as = {"POWERTOOLS_METRICS_DISABLED": "false", "PYTHONDONTWRITEBYTECODE": "1"}
    environments = {name: dict(os.environ) | stack.functions[name].environment | measured_as for name in functions}
    dev = {
        name: Candidate(ROOT / module_file, ROOT / event_file, function)
        for name, (module_file, event_file, function) in TARGETS.items()
    }
    try:
        with lambda_filesystem(build_dir, functions) as built:
            compared = {*BUILT_ALIASES.values(), "bare_handler", "peer_handler", "bare_authorizer"}
            built_warm = {
                name: warm if name in compared else min(warm, OTHER_FUNCTIONS_WARM)
                for name, candidate in built.items()
                if candidate.event_file is not None and name != SOURCE_ONLY
            }
            as_built = measure(built, environments, cold, built_warm)
            built_importtime = {name: _importtime(built[name], environments[built[name].function]) for name in compared}
            layer_entries = {
                name: candidate.lambda_path[1:] for name, candidate in built.items() if candidate.lambda_path
            }
        dev_tree = measure(dev, environments, cold, dict.fromkeys(dev, warm))
        presign = _worker(dev["handler"], environments["GetGenerationFunction"], "presign", str(max(warm, 100)))
        dev_importtime = {
            name: _importtime(candidate, environments[candidate.function]) for name, candidate in dev.items()
        }
    finally:
        stack.stop()

    not_ok = [name for name in compared if as_built[name]["first_status"] not in (None, 200)]
    if not_ok:
        raise SystemExit(f"not a 200 for the benchmark event: {not_ok}")
    layer_compiled = {
        name: compiled_in(as_built[name], layer_entries[name]) for name in as_built if name != SOURCE_ONLY
    }
    get = BUILT_ALIASES["handler"]
    report = {
        "modules_compiled_at_cold_start": max(layer_compiled.values()),
        "as_built_cold_speedup": round(as_built[SOURCE_ONLY]["cold_cpu_ms"] / as_built[get]["cold_cpu_ms"], 3),
        **ratios(as_built, BUILT_ALIASES),
        "presign_us": round(presign["presign_us_median"], 1),
        "presign_boto3_us": round(presign["presign_boto3_us_median"], 1),
        "targets": TARGETS_MET | {"as_built_cold_speedup": MINIMUM_SPEEDUP},
        "counts": {"cold_processes": cold, "warm_invocations": warm},
        "as_built": {
            "build_dir": str(build_dir),
            "layer_modules_compiled": layer_compiled,
            "source_only_layer_modules_compiled": compiled_in(as_built[SOURCE_ONLY], layer_entries[SOURCE_ONLY]),
            "measured": as_built,
            "importtime_top15_ms": built_importtime,
        },
        "dev_tree": {
            **ratios(dev_tree, {}),
            "measured": dev_tree,
            "importtime_top15_ms": dev_importtime,
        },
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


def _table(measured: dict[str, dict[str, Any]], with_compiled: bool) -> list[str]:
    header = f"{'':44}{'cold CPU ms':>12}{'INIT ms':>9}{'1st req ms':>11}{'warm CPU us':>12}{'p99':>7}{'RSS MB':>8}"
    lines = [header + (f"{'compiled':>10}" if with_compiled else "")]
    for name, row in measured.items():
        warm = f"{row['cpu_us_p50']:>12.0f}{row['cpu_us_p99']:>7.0f}" if "cpu_us_p50" in row else f"{'-':>12}{'-':>7}"
        line = (
            f"{name:44}{row['cold_cpu_ms']:>12.1f}{row['init_ms']:>9.1f}{row['first_request_ms']:>11.1f}{warm}"
            f"{row['peak_rss_kb'] / 1024:>8.1f}"
        )
        if with_compiled:
            line += f"{sum(row['compiled']['counts'].values()):>10}"
        lines.append(line)
    return lines


def verdict(key: str, value: float, target: float | None) -> str:
    if target is None:
        return ""
    if key == "as_built_cold_speedup":
        return f"  (target >= {target}) {'ok' if value >= target else 'UNDER'}"
    return f"  (target <= {target}) {'ok' if value <= target else 'OVER'}"


def render(report: dict[str, Any]) -> str:
    lines = ["As built (what Lambda runs; compiled: modules compiled from source in the cold start, any origin):"]
    lines += _table(report["as_built"]["measured"], with_compiled=True)
    lines += ["", "Dev tree (.venv, every package with its __pycache__):"]
    lines += _table(report["dev_tree"]["measured"], with_compiled=False)
    lines += ["", f"{'':32}{'as built':>10}{'dev tree':>10}"]
    for key in ["modules_compiled_at_cold_start", "as_built_cold_speedup", *RATIOS, "presign_us", "presign_boto3_us"]:
        dev = report["dev_tree"].get(key)
        dev_text = f"{dev:>10.3f}" if dev is not None else f"{'':>10}"
        lines.append(f"{key:32}{report[key]:>10.3f}{dev_text}{verdict(key, report[key], report['targets'].get(key))}")
    for where in ("as_built", "dev_tree"):
        for function, rows in report[where]["importtime_top15_ms"].items():
            lines.append(f"\npython -X importtime, {where}, {function}, top 15 (cumulative ms):")
            lines += [f"  {ms:8.1f}  {name}" for ms, name in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", type=int, default=15, help="fresh processes per function (default 15)")
    parser.add_argument("--warm", type=int, default=2000, help="warm invocations per function (default 2000)")
    parser.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR, help="sam build's output (make build)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--functions",
        nargs="+",
        metavar="LOGICAL_ID",
        help="measure only these functions as built, besides the ones the ratios compare (default: every one)",
    )
    args = parser.parse_args()
    report = run(args.cold, args.warm, args.build_dir, args.output, args.functions)
    print(render(report))
    print(f"\nwritten: {args.output}")
    if report["modules_compiled_at_cold_start"] != 0:
        print("FAIL: the layer's modules are compiled at cold start (no usable bytecode)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
