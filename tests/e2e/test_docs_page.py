"""The API reference page (``make docs``) in headless Chromium: every operation of docs/openapi.yaml is on it,
with its method, path and every response status; nothing fails in the console; nothing is fetched from a
network. The screenshot is left beside the page (build/docs/index.png) for a human to look at."""

import base64
import subprocess  # nosec B404 - runs make
from typing import Any

import yaml

from music_local.launcher import ROOT
from tests.helpers.devtools import headless_page

SPEC = ROOT / "docs" / "openapi.yaml"
PAGE = ROOT / "build" / "docs" / "index.html"
SCREENSHOT = PAGE.with_name("index.png")
BROWSER_SECONDS = 40
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

# For each operation: its section (Redoc's id), the section's text, and whether Redoc's script took the page
# over from the prerendered HTML (React marks the container it hydrated).
SECTIONS_SCRIPT = """
(() => {
  const container = document.getElementById('redoc');
  const sections = {};
  for (const id of %s) {
    const section = document.querySelector(`[id$="operation/${id}"]`);
    sections[id] = section === null ? null : section.innerText;
  }
  const hydrated = Object.keys(container).some((key) => key.startsWith('__react'));
  return {sections, hydrated, title: document.title};
})()
"""


def operations() -> dict[str, dict[str, Any]]:
    """operationId -> method, path and documented statuses, for every operation of the document."""
    document = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return {
        operation["operationId"]: {"method": method, "path": path, "statuses": set(operation["responses"])}
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def console_errors(events: list[dict[str, Any]]) -> list[str]:
    errors = []
    for event in events:
        params = event["params"]
        if event["method"] == "Runtime.exceptionThrown":
            errors.append(params["exceptionDetails"].get("exception", {}).get("description", "exception"))
        elif event["method"] == "Runtime.consoleAPICalled" and params["type"] in {"error", "assert"}:
            errors.append(
                " ".join(str(argument.get("value", argument.get("description"))) for argument in params["args"])
            )
        elif event["method"] == "Log.entryAdded" and params["entry"]["level"] == "error":
            errors.append(params["entry"]["text"])
    return errors


def test_the_reference_page_shows_every_operation_without_errors_or_network() -> None:
    # Up to date after `make test`'s own prerequisites; builds the page when pytest runs alone.
    make = ["make", "--no-print-directory", "docs"]  # from PATH, as a developer runs it
    subprocess.run(make, cwd=ROOT, check=True, capture_output=True, timeout=300)  # noqa: S603
    expected = operations()
    assert expected, "the document has no operations"

    with headless_page(BROWSER_SECONDS) as page:
        for domain in ("Runtime", "Log", "Network", "Page"):
            page.call(f"{domain}.enable")
        page.call("Page.navigate", url=PAGE.as_uri())
        page.wait_for_event("Page.loadEventFired")
        found = page.evaluate(SECTIONS_SCRIPT % sorted(expected))
        screenshot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        events = list(page.events)
    SCREENSHOT.write_bytes(base64.b64decode(screenshot["data"]))

    assert found["hydrated"], "Redoc's script did not take over the prerendered page"
    assert found["title"] == yaml.safe_load(SPEC.read_text(encoding="utf-8"))["info"]["title"]
    for operation_id, operation in expected.items():
        text = found["sections"][operation_id]
        assert text is not None, f"{operation_id} has no section on the page"
        assert operation["path"] in text, operation_id
        assert operation["method"].upper() in text.upper(), operation_id
        missing = {status for status in operation["statuses"] if status not in text}
        assert not missing, f"{operation_id}: statuses {sorted(missing)} not on the page"
    assert console_errors(events) == []
    requested = [
        event["params"]["request"]["url"] for event in events if event["method"] == "Network.requestWillBeSent"
    ]
    assert [url for url in requested if not url.startswith(LOCAL_SCHEMES)] == []
    assert SCREENSHOT.stat().st_size > 10_000
