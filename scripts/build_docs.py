"""Render docs/openapi.yaml as one self-contained page, build/docs/index.html (``make docs``).

Redocly's CLI prerenders the reference, but its page loads Redoc's script from a CDN and fonts from Google, and
the script loads Redocly's logo from another CDN. This builds without the fonts and puts the same Redoc version's
bundle, from tools/redocly/node_modules, inside the page, its logo replaced by an empty image (the "API docs by
Redocly" credit stays), so the page opens from disk with no network at all.

Usage: build_docs.py [--output PATH]
"""

import argparse
import json
import os
import re
import subprocess  # nosec B404 - runs the project's own pinned tool
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "docs" / "openapi.yaml"
OUTPUT = ROOT / "build" / "docs" / "index.html"
NODE_MODULES = ROOT / "tools" / "redocly" / "node_modules"
REDOCLY = NODE_MODULES / ".bin" / "redocly"
REDOC = NODE_MODULES / "redoc"
CDN_SCRIPT = re.compile(
    r'<script src="https://cdn\.redocly\.com/redoc/v(?P<version>[0-9.]+)/bundles/redoc\.standalone\.js"></script>'
)
# The one asset the bundle fetches itself (the credit's logo), and what stands in for it.
REMOTE_LOGO = '"https://cdn.redoc.ly/redoc/logo-mini.svg"'
EMPTY_IMAGE = "\"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='0' height='0'/%3E\""
# No Google fonts; no download button: with it, the prerendered page does not match what Redoc's script renders
# (React hydration errors 418 and 423 in the console; https://github.com/Redocly/redocly-cli/issues/2113). The
# YAML is in the repository.
BUILD_OPTIONS = ("--disableGoogleFont", "--theme.openapi.hideDownloadButton")
# No usage data sent to Redocly, no version check against the registry.
QUIET = {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}


def inline_redoc(page: str, bundle: str, installed_version: str) -> str:
    """The page with its one CDN script tag replaced by the installed bundle, which must be the version it names."""
    tags = list(CDN_SCRIPT.finditer(page))
    if len(tags) != 1:
        raise ValueError(f"expected one Redoc CDN script tag in the page, found {len(tags)}")
    if tags[0]["version"] != installed_version:
        raise ValueError(f"the page asks for Redoc {tags[0]['version']}, tools/redocly has {installed_version}")
    if "</script" in bundle:
        raise ValueError("the Redoc bundle contains '</script' and cannot be inlined")
    if bundle.count(REMOTE_LOGO) != 1:
        raise ValueError(f"expected the Redoc bundle to load {REMOTE_LOGO} once")
    start, end = tags[0].span()
    return page[:start] + f"<script>{bundle.replace(REMOTE_LOGO, EMPTY_IMAGE)}</script>" + page[end:]


def build(output: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        rendered = Path(scratch) / "index.html"
        command = [str(REDOCLY), "build-docs", str(SPEC), "--output", str(rendered), *BUILD_OPTIONS]
        subprocess.run(  # noqa: S603 - the project's own pinned tool  # nosec B603
            command, check=True, cwd=ROOT, env=os.environ | QUIET, stdout=subprocess.DEVNULL
        )
        page = rendered.read_text(encoding="utf-8")
    bundle = (REDOC / "bundles" / "redoc.standalone.js").read_text(encoding="utf-8")
    version = json.loads((REDOC / "package.json").read_text(encoding="utf-8"))["version"]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(inline_redoc(page, bundle, version), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    arguments = parser.parse_args(argv)
    if not REDOCLY.exists():
        print(f"{REDOCLY.relative_to(ROOT)} is missing: run `make docs` (it installs tools/redocly)", file=sys.stderr)
        return 1
    build(arguments.output)
    print(f"wrote {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
