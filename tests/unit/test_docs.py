"""The project's Markdown holds together: every relative link names a file of the repository and every anchor a
heading of its target, as GitHub renders them; no text cites an issue number, which means nothing to a reader of
the repository (write the reason instead); the README lists every function of the template."""

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

from music_local.template import default_template

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted([ROOT / "README.md", ROOT / "clients" / "python" / "README.md", *(ROOT / "docs").glob("*.md")])
# [text](target) outside code; a target with a scheme (https:, mailto:) is not ours to check.
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
ISSUE_NUMBER = re.compile(r"\b(?:issues?|tasks?|tickets?)\s+#?\d+\b|(?<![\w&/#])#\d{1,4}\b", re.IGNORECASE)


def prose(path: Path) -> str:
    return CODE_SPAN.sub("", FENCE.sub("", path.read_text(encoding="utf-8")))


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, code marks and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE):
        anchor, number = slug(heading), 1
        while anchor in found:  # a repeated heading gets -1, -2, ...
            anchor, number = f"{slug(heading)}-{number}", number + 1
        found.add(anchor)
    return frozenset(found)


@pytest.mark.parametrize("document", DOCUMENTS, ids=[str(path.relative_to(ROOT)) for path in DOCUMENTS])
def test_every_relative_link_and_anchor_resolves(document: Path) -> None:
    broken = []
    for target in LINK.findall(prose(document)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (document.parent / file_part).resolve() if file_part else document
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading with that anchor")

    assert not broken, f"{document.relative_to(ROOT)}: " + "; ".join(broken)


def test_no_tracked_text_cites_an_issue_number() -> None:
    # git, read-only, on the repository itself: only what is committed, never a venv or a build.
    tracked = subprocess.run(
        ["git", "ls-files", "*.md", "*.py", "*.yaml", "*.toml", "Makefile"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    citing = [
        f"{name}: {match.group(0)}"
        for name in tracked
        if not name.startswith("tests/data/")  # the contract's copy and fixtures are not ours to word
        for match in ISSUE_NUMBER.finditer((ROOT / name).read_text(encoding="utf-8"))
    ]

    assert not citing, citing


def test_the_readme_lists_every_function_of_the_template() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    template = default_template()

    missing = [
        name
        for name in template.resources_of_type("AWS::Serverless::Function")
        if f"`{template.function_code(name).directory.name}`" not in readme or f"`{name}`" not in readme
    ]

    assert not missing, f"the README's layout table lacks {missing}"
