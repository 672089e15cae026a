"""The local API as a user runs it: ``python -m music_local`` in a subprocess, on a free loopback port."""

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from music_local.launcher import ROOT, LaunchedApi, launched

DEMO = ROOT / "local" / "demo.json"


@pytest.fixture(scope="session")
def local_api() -> Iterator[LaunchedApi]:
    # DEBUG: every line the functions can log is written, so the hygiene check below sees all of them.
    with launched("--log-level", "DEBUG") as api:
        yield api
    assert api.exit_code == 0, "Ctrl-C must stop the local API cleanly"
    assert_no_secrets_logged(api.output, DEMO)


def assert_no_secrets_logged(output: list[str], fixtures: Path) -> None:
    """After every suite that used a server: no API key and no URL signature in any line it printed after
    its banner (the banner shows the demo key on purpose: that is the point of ``make run``)."""
    after_banner = "".join(output[next(i for i, line in enumerate(output) if line.startswith("Ctrl-C")) + 1 :])
    assert '"level":"DEBUG"' in after_banner, "the functions' logs must have been captured"
    assert "X-Amz-Signature" not in after_banner
    for key in (entry["key"] for entry in json.loads(fixtures.read_text())["api_keys"]):
        assert key not in after_banner


def request_json(base_url: str, path: str, key: str | None, method: str = "GET") -> tuple[int, dict[str, str], Any]:
    """One request to a local API: status, headers and the JSON body, whatever the status."""
    request = urllib.request.Request(f"{base_url}{path}", method=method)  # noqa: S310 - loopback
    if key is not None:
        request.add_header("X-API-Key", key)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())
