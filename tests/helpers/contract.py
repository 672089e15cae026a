"""The contract page's own examples, read from the copy of the page kept in tests/data/contract/.

The copy is the published page byte for byte (spec/get-generation.md of the shared folder beside the checkout,
when it was taken); tests compare against it so that a fresh clone without that folder runs every test.
"""

import json
import re
from pathlib import Path
from typing import Any

CONTRACT_PAGE = Path(__file__).resolve().parents[1] / "data" / "contract" / "get-generation.md"


def spec_example(status_line: str) -> dict[str, Any]:
    """The JSON example the contract page shows under ``status_line`` (e.g. ``200 OK:``)."""
    example: dict[str, Any] = json.loads(spec_code(status_line))
    return example


def spec_code(title: str) -> str:
    """The code block the contract page shows under the line ``title`` (``cURL:``, ``Python SDK:``, ``200 OK:``),
    exactly as written there."""
    text = CONTRACT_PAGE.read_text(encoding="utf-8")
    match = re.search("^" + re.escape(title) + r"\n```[a-z]*\n(.*?)```", text, re.DOTALL | re.MULTILINE)
    assert match is not None, f"no example under {title!r} in the contract"
    return match.group(1)


def without_request_specifics(body: dict[str, Any]) -> dict[str, Any]:
    """An error body without what differs on every request (trace id and timestamp)."""
    error = {key: value for key, value in body["error"].items() if key not in {"trace_id", "timestamp"}}
    return {**body, "error": error}
