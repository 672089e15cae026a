"""make bench works end to end (tiny counts, and as built only the functions its ratios compare plus one more: each
function costs the run two fresh interpreters): no timing is asserted, only that it measures what it says."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.bench import BUILT_ALIASES, RATIOS, SOURCE_ONLY, TARGETS, TARGETS_MET

from get_generation.app import lambda_handler
from music_local.emulator import LocalAws
from music_local.gateway import LambdaContext
from music_local.launcher import ROOT
from music_local.template import Template
from tests.helpers.built import build_artifact
from tests.helpers.events import load_event


def test_the_benchmark_runs_and_writes_its_report(tmp_path: Path) -> None:
    output, build_dir = tmp_path / "latest.json", build_artifact(tmp_path / "build")
    command = [
        "benchmarks/bench.py",
        "--cold",
        "1",
        "--warm",
        "1",
        "--build-dir",
        str(build_dir),
        "--output",
        str(output),
        "--functions",
        "CreateGenerationFunction",
    ]

    completed = subprocess.run(  # noqa: S603 - our own benchmark
        [sys.executable, *command], cwd=ROOT, capture_output=True, text=True, timeout=1500, check=False
    )

    assert completed.returncode == 0, completed.stderr
    report = json.loads(output.read_text())
    assert report["modules_compiled_at_cold_start"] == 0
    assert all(report[key] > 0 for key in [*RATIOS, *TARGETS_MET] if key != "modules_compiled_at_cold_start")
    # As built: the functions asked for and those the ratios compare, the yardsticks, and GET on a layer without
    # bytecode.
    functions = {"CreateGenerationFunction", *BUILT_ALIASES.values()}
    assert functions < set(Template.load().resources_of_type("AWS::Serverless::Function"))
    as_built = report["as_built"]["measured"]
    assert set(as_built) == {*functions, "bare_handler", "peer_handler", "bare_authorizer", SOURCE_ONLY}
    assert set(report["as_built"]["layer_modules_compiled"]) == set(as_built) - {SOURCE_ONLY}
    assert report["as_built"]["source_only_layer_modules_compiled"] > 100
    assert as_built["GetGenerationFunction"]["invocations"] == 1
    dev_tree = report["dev_tree"]["measured"]
    assert set(dev_tree) == set(report["dev_tree"]["importtime_top15_ms"]) == set(TARGETS)
    assert all(dev_tree[name]["invocations"] == 1 for name in TARGETS)
    assert all(len(rows) == 15 for rows in report["dev_tree"]["importtime_top15_ms"].values())
    assert {"python", "boto3", "pydantic", "aws-lambda-powertools"} <= report["machine"].keys()
    assert "peer_warm_ratio" in completed.stdout
    assert "python -X importtime, as_built, AuthorizerFunction, top 15" in completed.stdout


# A parent holding 300 MB starts a child that reports its peak RSS both ways.
BIG_PARENT = """
import subprocess, sys
ballast = b"x" * (300 << 20)
child = "import resource, worker; print(worker.peak_rss_kb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
print(subprocess.run([sys.executable, "-c", child], cwd="benchmarks", capture_output=True, text=True).stdout)
"""


def test_peak_rss_is_the_childs_own_not_its_parents() -> None:
    completed = subprocess.run(  # noqa: S603 - the interpreter running the tests
        [sys.executable, "-c", BIG_PARENT], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )

    own_kb, ru_maxrss_kb = map(int, completed.stdout.split())
    assert own_kb < 50 * 1024  # an interpreter and the standard library
    assert ru_maxrss_kb > 300 * 1024  # what ru_maxrss reports in that same child: the parent's peak


def body_shape(value: Any) -> Any:
    """Keys, recursively, and the JSON type of every leaf."""
    if isinstance(value, dict):
        return {key: body_shape(inner) for key, inner in value.items()}
    return type(value).__name__


def test_the_peer_answers_the_benchmark_event_as_ours_does(aws: LocalAws, lambda_context: LambdaContext) -> None:
    spec = importlib.util.spec_from_file_location("peer_handler", ROOT / "benchmarks" / "peer_handler.py")
    assert spec is not None
    assert spec.loader is not None
    peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peer)  # after `aws`: the peer creates its clients at import, on the emulator
    event = load_event("get_generation_succeeded.json")

    ours, theirs = lambda_handler(event, lambda_context), peer.lambda_handler(event, lambda_context)

    assert ours["statusCode"] == theirs["statusCode"] == 200
    ours_body, peer_body = json.loads(ours["body"]), json.loads(theirs["body"])
    assert list(body_shape(ours_body)) == list(body_shape(peer_body))
    assert body_shape(ours_body) == body_shape(peer_body)
    assert ours_body["created_at"] == peer_body["created_at"]
