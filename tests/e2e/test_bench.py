"""make bench works end to end (tiny counts): no timing is asserted, only that it measures and reports."""

import json
import subprocess
import sys
from pathlib import Path

from music_local.launcher import ROOT

REQUIRED_KEYS = {
    "cold_init_ratio",
    "warm_request_ratio",
    "peak_rss_ratio",
    "authorizer_cold_ratio",
    "authorizer_warm_ratio",
    "presign_us",
}


def test_the_benchmark_runs_and_writes_its_report(tmp_path: Path) -> None:
    output = tmp_path / "latest.json"

    completed = subprocess.run(  # noqa: S603 - our own benchmark
        [sys.executable, "benchmarks/bench.py", "--cold", "1", "--warm", "5", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    report = json.loads(output.read_text())
    assert report.keys() >= REQUIRED_KEYS
    assert all(report[key] > 0 for key in REQUIRED_KEYS)
    assert set(report["cold"]) == set(report["warm"]) == {"handler", "bare_handler", "authorizer", "bare_authorizer"}
    assert report["warm"]["handler"]["invocations"] == 5
    assert len(report["importtime_top15_ms"]["handler"]) == 15
    assert {"python", "boto3", "pydantic", "aws-lambda-powertools"} <= report["machine"].keys()
    assert "cold_init_ratio" in completed.stdout
    assert "python -X importtime, authorizer, top 15" in completed.stdout
