"""Mutation check of the layer's security and lifecycle modules (make mutation; not part of make test).

mutmut 3 plants one small change at a time (a comparison flipped, a condition dropped, a constant moved) in a
copy of the code, runs the tests that reach the changed function, and counts a mutant killed when one fails. A
mutant that survives is behaviour no test pins down: kill it with a test, or write down why it is equivalent
(docs/testing.md keeps the score and the known equivalent survivors).

mutmut imports the mutated copy as ``music_api`` only from a ``src/`` folder, so it runs in build/mutation,
where ``src`` is a link to layers/shared and the tests, functions and events are links to the repository's.
"""

import argparse
import io
import os
import re
import shutil
import subprocess  # nosec B404 - runs git and the venv's own mutmut
import sys
import tarfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parents[1]
MUTMUT: Final = Path(sys.executable).parent / "mutmut"

# The default check: the modules whose behaviour the unit tests pin, with those unit tests (minutes).
MODULES: Final = (
    "music_api/authorizer/models.py",
    "music_api/authorizer/keys.py",
    "music_api/authorizer/policy.py",
    "music_api/core/caller.py",
    "music_api/jobs/signer.py",
)
TESTS: Final = (
    "tests/unit/test_api_key_item.py",
    "tests/unit/test_keys.py",
    "tests/unit/test_policy.py",
    "tests/unit/test_request.py",
    "tests/unit/test_signer.py",
    "tests/unit/test_signer_matches_boto3.py",
)
# --full adds the modules only the integration tests pin (functions against the moto server, a second or more
# per test, so a surviving mutant costs minutes): hours on a busy two-core machine.
FULL_MODULES: Final = (
    *MODULES,
    "music_api/authorizer/handler.py",
    "music_api/routes/list_generations.py",
    "music_api/jobs/store.py",
    "music_api/jobs/writer.py",
    "music_api/jobs/create.py",
    "music_api/routes/create_generation.py",
)
FULL_TESTS: Final = (
    *TESTS,
    "tests/integration/test_authorizer.py",
    "tests/integration/test_list_generations.py",
    "tests/integration/test_job_writer.py",
    "tests/integration/test_create_generation.py",
)
NOT_MUTATED: Final = (r"\blogger\.", r"\bmetrics\.", r"^\s*extra=", r"\b_count\(", r"\b_reject\(")
LINKS: Final = ("functions", "events", "pyproject.toml")
RESULT: Final = re.compile(r"^\s*(?P<module>music_api\.[\w.]+?)\.x\S*__mutmut_\d+: (?P<status>.+)$")


def stage(stage_dir: Path, modules: list[str], tests: list[str], tests_from: str | None) -> None:
    """A fresh stage: links to the code and tests (or the tests of revision ``tests_from``, to score today's code
    against an older suite), and mutmut's settings in setup.cfg (pyproject.toml stays the repository's, for
    pytest's settings)."""
    shutil.rmtree(stage_dir, ignore_errors=True)
    stage_dir.mkdir(parents=True)
    (stage_dir / "src").symlink_to(ROOT / "layers" / "shared", target_is_directory=True)
    for name in LINKS:
        (stage_dir / name).symlink_to(ROOT / name)
    if tests_from is None:
        (stage_dir / "tests").symlink_to(ROOT / "tests", target_is_directory=True)
    else:
        git = shutil.which("git") or "git"
        archive = _run([git, "archive", "--format=tar", tests_from, "tests"], cwd=ROOT, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tests_archive:
            tests_archive.extractall(stage_dir, filter="data")
    tests = [test for test in tests if (stage_dir / test.split("::")[0]).exists()]  # an older suite may lack some
    lines = [
        "[mutmut]",
        "source_paths = src/music_api",
        "only_mutate =",
        *(f"    src/{module}" for module in modules),
        "also_copy =",
        "    functions",
        "    events",
        # Log and metric lines are observability (test_observability pins them), not the behaviour under check.
        "do_not_mutate_patterns =",
        *(f"    {pattern}" for pattern in NOT_MUTATED),
        "pytest_add_cli_args_test_selection =",
        *(f"    {test}" for test in tests),
        "pytest_add_cli_args =",
        "    -p",
        "    no:cacheprovider",
        "",
    ]
    (stage_dir / "setup.cfg").write_text("\n".join(lines), encoding="utf-8")


def score(stage_dir: Path) -> dict[str, Counter[str]]:
    """killed / survived / … per module, from ``mutmut results --all true``."""
    output = _run([str(MUTMUT), "results", "--all", "true"], cwd=stage_dir, capture_output=True, text=True).stdout
    by_module: dict[str, Counter[str]] = {}
    for line in output.splitlines():
        if match := RESULT.match(line):
            by_module.setdefault(match["module"], Counter())[match["status"]] += 1
    return by_module


def report(by_module: dict[str, Counter[str]], tests_from: str | None) -> str:
    suite = f"the tests of {tests_from}" if tests_from else "the working tree's tests"
    rows = [
        f"Mutation score, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC (mutmut, scripts/mutation.py, {suite})",
        f"{'module':40} {'killed':>7} {'survived':>9} {'other':>6} {'total':>6} {'score':>6}",
    ]
    total: Counter[str] = Counter()
    for module, counts in sorted(by_module.items()):
        rows.append(_row(module, counts))
        total += counts
    rows.append(_row("all", total))
    return "\n".join(rows)


def _row(name: str, counts: Counter[str]) -> str:
    killed, survived, everything = counts["killed"], counts["survived"], counts.total()
    checked = killed + survived
    percent = f"{100 * killed / checked:.0f}%" if checked else "-"
    return f"{name:40} {killed:7} {survived:9} {everything - checked:6} {everything:6} {percent:>6}"


def _run(command: list[str], *, check: bool = True, **options: Any) -> "subprocess.CompletedProcess[Any]":
    """git or the venv's own mutmut: fixed programs, arguments built here."""
    return subprocess.run(command, check=check, **options)  # noqa: S603 # nosec B603


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also the modules only integration tests pin (slow)")
    parser.add_argument("--module", action="append", help="only this module (a path below layers/shared)")
    parser.add_argument("--test", action="append", help="only this test file or node id")
    parser.add_argument("--max-children", type=int, default=1, help="parallel mutants (default 1)")
    parser.add_argument("--tests-from", metavar="REVISION", help="score the code against this revision's tests")
    parser.add_argument("--report-only", action="store_true", help="print the last run's score")
    args = parser.parse_args()
    stage_dir = ROOT / "build" / (f"mutation-{args.tests_from}" if args.tests_from else "mutation")
    if not args.report_only:
        modules = args.module or list(FULL_MODULES if args.full else MODULES)
        stage(stage_dir, modules, args.test or list(FULL_TESTS if args.full else TESTS), args.tests_from)
        # mutmut's forked workers each start their own moto server; no coverage plug-in in them.
        environment = {**os.environ, "COVERAGE_PROCESS_START": ""}
        command = [str(MUTMUT), "run", "--max-children", str(args.max_children)]
        run = _run(command, cwd=stage_dir, env=environment, check=False)
        if run.returncode != 0:
            return run.returncode
    print(report(score(stage_dir), args.tests_from))
    survivors = _run([str(MUTMUT), "results"], cwd=stage_dir, capture_output=True, text=True).stdout
    print(f"\nNot killed (mutmut show NAME in {stage_dir.relative_to(ROOT)} for the diff):\n{survivors}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
