"""A short, bounded version of make load: 20 concurrent pollers on loopback, no error allowed."""

import subprocess
import sys

from music_local.launcher import ROOT, LaunchedApi


def test_twenty_concurrent_pollers_get_no_error(local_api: LaunchedApi) -> None:
    completed = subprocess.run(  # noqa: S603 - our own script
        [
            sys.executable,
            "scripts/load.py",
            "--url",
            local_api.url,
            "--pollers",
            "20",
            "--requests",
            "400",
            "--seconds",
            "120",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "400 requests by 20 pollers" in completed.stdout
    assert "errors 0" in completed.stdout
