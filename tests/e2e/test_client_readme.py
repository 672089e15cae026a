"""Every example of the Python client's README, and the walkthrough's Python client examples (docs/walkthrough.md),
run as written against the local API: the Python ones as scripts, the command line's as a shell runs them (without
its ``export`` lines: the test gives the key and the base URL). The only change is the deployed placeholder base
URL of the walkthrough, which becomes the local API's."""

import json
import re
import sys
from pathlib import Path

import pytest

from music_local.launcher import LaunchedApi
from tests.helpers.client import run_as_alice
from tests.helpers.seed import ALICE_KEY

ROOT = Path(__file__).resolve().parents[2]
CLIENT_README = ROOT / "clients" / "python" / "README.md"
WALKTHROUGH = ROOT / "docs" / "walkthrough.md"
DEPLOYED = "https://<api-id>.execute-api.<region>.amazonaws.com/prod"
PLACEHOLDER_KEY = '"your-api-key"'  # the contract page's SDK example


def blocks(readme: Path, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", readme.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)


def client_examples() -> list[tuple[str, str]]:
    """(name, code) of each Python example that uses the client: every one of its README, and the
    walkthrough's."""
    examples = [("client-readme", code) for code in blocks(CLIENT_README, "python")]
    # A receiver serves until stopped: tests/e2e/test_webhooks.py runs the walkthrough's against a real delivery.
    examples += [
        ("walkthrough", code)
        for code in blocks(WALKTHROUGH, "python")
        if "freddy_music" in code and "serve_forever" not in code
    ]
    return [(f"{where}-{number}", code) for number, (where, code) in enumerate(examples)]


EXAMPLES = client_examples()


@pytest.mark.parametrize("code", [code for _, code in EXAMPLES], ids=[name for name, _ in EXAMPLES])
def test_each_python_example_runs_against_the_local_api(local_api: LaunchedApi, tmp_path: Path, code: str) -> None:
    script = code.replace(DEPLOYED, local_api.url).replace(PLACEHOLDER_KEY, json.dumps(ALICE_KEY))

    run_as_alice([sys.executable, "-c", script], local_api.url, cwd=tmp_path)


def test_the_command_lines_examples_run_against_the_local_api(local_api: LaunchedApi, tmp_path: Path) -> None:
    (commands,) = [code for code in blocks(CLIENT_README, "bash") if "freddy-music generate" in code]
    script = "set -e\n" + "\n".join(line for line in commands.splitlines() if not line.startswith("export "))
    bin_folder = Path(sys.executable).parent

    run_as_alice(["bash", "-c", f'PATH="{bin_folder}:$PATH"\n{script}'], local_api.url, cwd=tmp_path)

    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "drums.mp3",
        "late-night-study.mp3",
        "master.mp3",
        "rainy-study.mp3",
    ]


def test_the_readme_shows_every_part_of_the_client() -> None:
    shown = "\n".join(code for _, code in EXAMPLES)

    for part in [
        "generations.create_and_wait(",
        "AsyncClient",
        "async for",
        "generations.list(",
        "generations.list_page(",
        "generations.cancel(",
        "engines.list(",
        "with_options(",
        "max_retries=",
        "request_id",
        "except NotFoundError",
        "except JobFailedError",
        'Client(organization_id="org_abc123")',
    ]:
        assert part in shown, part
