"""``freddy-music watch`` follows simulated jobs to each outcome, as a user runs it after ``make run``.

The jobs of tests/data/lifecycle.json, queued for 6 s and run for 8 s (instead of 1 and 4) so that a watcher
started after the stack, polling at the server's pace (Retry-After 5 while queued, 2 while running), sees the job
queued and then running; the four watchers run side by side as four processes, with stdout not a terminal (plain
lines, no control characters).
"""

import json
import subprocess  # nosec B404
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from freddy_music.cli import ExitCode
from music_local.launcher import ROOT, launched
from music_local.simulator import DEMO_AUDIO
from tests.helpers.seed import ALICE_KEY, ORG

LIFECYCLE = ROOT / "tests" / "data" / "lifecycle.json"
# Queued long enough for four interpreters to start and make their first request on a busy two-core box (3 s
# was not, once: the first answer was already running).
QUEUED_SECONDS, RUNNING_SECONDS = 6, 8
EXPECTED = {
    "mgen_lcsucceeded1": ExitCode.SUCCEEDED,
    "mgen_lcfailed0001": ExitCode.FAILED,
    "mgen_lccancel0001": ExitCode.CANCELLED,
    "mgen_lcrefused001": ExitCode.REFUSED,
}


@dataclass(frozen=True)
class Watched:
    exit_code: int
    stdout: str
    saved: Path


def slower_lifecycle(directory: Path) -> Path:
    """lifecycle.json with longer waits and runs, its audio paths made absolute so the copy can live elsewhere."""
    fixtures = json.loads(LIFECYCLE.read_text(encoding="utf-8"))
    for job in fixtures["generations"]:
        job["simulate"] |= {"queued_seconds": QUEUED_SECONDS, "running_seconds": RUNNING_SECONDS}
        if "track" in job:
            job["track"]["audio_file"] = str((LIFECYCLE.parent / job["track"]["audio_file"]).resolve())
    path = directory / "watch.json"
    path.write_text(json.dumps(fixtures), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Watched]:
    directory = tmp_path_factory.mktemp("watch")
    with launched("--fixtures", str(slower_lifecycle(directory))) as api:
        environment = {"FREDDY_API_KEY": ALICE_KEY, "FREDDY_BASE_URL": api.url, "PATH": "/usr/bin:/bin"}
        watch = [sys.executable, "-m", "freddy_music", "watch", ORG]
        watchers = {
            job_id: subprocess.Popen(  # noqa: S603 - our own command line, against loopback
                [*watch, job_id, "--timeout", "30", "--output", str(directory / f"{job_id}.mp3")],
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for job_id in EXPECTED
        }
        results = {}
        for job_id, watcher in watchers.items():
            stdout, _ = watcher.communicate(timeout=60)
            results[job_id] = Watched(watcher.returncode, stdout, directory / f"{job_id}.mp3")
    assert api.exit_code == 0
    return results


@pytest.mark.parametrize(("job_id", "exit_code"), EXPECTED.items())
def test_watch_ends_with_the_exit_code_of_the_jobs_outcome(
    watched: dict[str, Watched], job_id: str, exit_code: ExitCode
) -> None:
    assert watched[job_id].exit_code == exit_code, watched[job_id].stdout


def test_watch_shows_the_job_queued_then_running_with_rising_progress_then_succeeded(
    watched: dict[str, Watched],
) -> None:
    lines = watched["mgen_lcsucceeded1"].stdout.splitlines()
    states = [line.split()[1:3] for line in lines if line.startswith("mgen_lcsucceeded1 ")]

    assert states[0][0] == "queued"
    running = [int(progress.rstrip("%")) for status, progress in states if status == "running"]
    assert running, f"no running state seen in {lines}"
    assert running == sorted(running)
    assert states[-1] == ["succeeded", "100%"]


def test_watch_saves_the_succeeded_jobs_audio_and_nothing_for_the_others(watched: dict[str, Watched]) -> None:
    assert watched["mgen_lcsucceeded1"].saved.read_bytes() == DEMO_AUDIO.read_bytes()
    for job_id in ("mgen_lcfailed0001", "mgen_lccancel0001", "mgen_lcrefused001"):
        assert not watched[job_id].saved.exists()


def test_watch_prints_plain_lines_when_stdout_is_not_a_terminal(watched: dict[str, Watched]) -> None:
    for result in watched.values():
        assert "\x1b" not in result.stdout
        assert "\r" not in result.stdout
