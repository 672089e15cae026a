"""Talking to a local API over HTTP, and checking what its servers printed."""

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


def assert_no_secrets_logged(output: list[str], fixtures: Path) -> None:
    """After every suite that used a server: no API key and no URL signature in any line it printed after
    its banner (the banner shows the demo key on purpose: that is the point of ``make run``)."""
    after_banner = "".join(output[next(i for i, line in enumerate(output) if line.startswith("Ctrl-C")) + 1 :])
    # Any structured line will do: not every route logs at DEBUG (a refused create logs its refusal only).
    assert '"level":"' in after_banner, "the functions' logs must have been captured"
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
