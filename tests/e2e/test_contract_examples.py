"""The contract page's four request examples, run as written against the local API.

Each example is taken from the copy of the page in tests/data/contract/; the only change is the host
(``https://api.aitronos.com`` becomes the local API's address). The key comes from ``FREDDY_API_KEY``, as the
examples say; the SDK example, which takes the key as an argument, gets the demo key in place of its
``"your-api-key"`` placeholder, and our client in place of the vendor's import.
"""

import json
import re
import sys
import urllib.request
from pathlib import Path

from music_local.launcher import LaunchedApi
from tests.helpers.client import run_as_alice
from tests.helpers.contract import CONTRACT_PAGE, spec_code
from tests.helpers.seed import ALICE_KEY, AUDIO_BYTES, ORG, SEED_JOB_ID, SEED_TRACK_ID

PUBLIC_API = "https://api.aitronos.com"
VENDOR_SDK_IMPORT = "from aitronos import Aitronos  # pip install aitronos-sdk"
OUR_CLIENT_IMPORT = "from freddy_music import Client as Aitronos  # pip install ./clients/python"


def localised(title: str, api: LaunchedApi) -> str:
    """The example under ``title``, pointed at the local API."""
    example = spec_code(title)
    assert PUBLIC_API in example or title == "Python SDK:", f"the {title} example no longer names the public API"
    return example.replace(PUBLIC_API, api.url)


def assert_plays_the_demo_audio(url: str) -> None:
    with urllib.request.urlopen(url, timeout=30) as download:  # noqa: S310 - the emulator on loopback
        assert download.read() == AUDIO_BYTES


def test_the_curl_example(local_api: LaunchedApi) -> None:
    body = json.loads(run_as_alice(["bash", "-c", localised("cURL:", local_api)], local_api.url))

    assert body["id"] == SEED_JOB_ID
    assert body["status"] == "succeeded"
    assert_plays_the_demo_audio(body["playback_url"])


def test_the_python_requests_example(local_api: LaunchedApi) -> None:
    printed = run_as_alice([sys.executable, "-c", localised("Python:", local_api)], local_api.url)

    assert printed == "succeeded 100\n"


def test_the_javascript_fetch_example_under_node(local_api: LaunchedApi, tmp_path: Path) -> None:
    # An ES module: the example awaits at the top level.
    script = tmp_path / "example.mjs"
    script.write_text(localised("JavaScript:", local_api), encoding="utf-8")

    status, playback_url = run_as_alice(["node", str(script)], local_api.url).split()

    assert status == "succeeded"
    assert_plays_the_demo_audio(playback_url)


def test_the_python_sdk_example_through_our_client(local_api: LaunchedApi) -> None:
    example = localised("Python SDK:", local_api)
    assert VENDOR_SDK_IMPORT in example
    assert example.count('"your-api-key"') == 1
    ours = example.replace(VENDOR_SDK_IMPORT, OUR_CLIENT_IMPORT).replace('"your-api-key"', json.dumps(ALICE_KEY))

    (playback_url,) = run_as_alice([sys.executable, "-c", ours], local_api.url).split()

    assert_plays_the_demo_audio(playback_url)


def test_these_are_all_the_request_examples_on_the_page() -> None:
    """A request example added to the page fails here until it runs above too."""
    page = CONTRACT_PAGE.read_text(encoding="utf-8")

    assert re.findall(r"^(.+:)\n```(?!json)", page, re.MULTILINE) == ["cURL:", "Python SDK:", "Python:", "JavaScript:"]


# The family's pages (generation-family.md) publish no examples of their own: these are the contract's two shapes,
# cURL with the key from FREDDY_API_KEY and the SDK's ``client.get(...)`` / ``client.post(...)``, on those routes.
SEED_TRACK_PATH = f"/v1/music/{ORG}/tracks/{SEED_TRACK_ID}"
# Cancelling the seed job, which has succeeded, changes nothing: it answers the job as it is (the shared stack).
SEED_CANCEL_PATH = f"/v1/music/{ORG}/generations/{SEED_JOB_ID}/cancel"


def test_the_curl_example_shape_gets_a_track_with_its_stems(local_api: LaunchedApi) -> None:
    curl = f'curl "{local_api.url}{SEED_TRACK_PATH}" \\\n  -H "X-API-Key: $FREDDY_API_KEY"'

    track = json.loads(run_as_alice(["bash", "-c", curl], local_api.url))

    assert (track["id"], sorted(track["stem_urls"])) == (SEED_TRACK_ID, ["drums", "vocals"])
    for url in (track["playback_url"], *track["stem_urls"].values()):
        assert_plays_the_demo_audio(url)


def test_the_sdk_example_shape_gets_a_track_with_its_stems(local_api: LaunchedApi) -> None:
    sdk = f"""{OUR_CLIENT_IMPORT}

client = Aitronos(api_key={json.dumps(ALICE_KEY)})

track = client.get("{SEED_TRACK_PATH}")
print(track["playback_url"])
for name, url in sorted(track["stem_urls"].items()):
    print(name, url)
"""

    master, drums, vocals = run_as_alice([sys.executable, "-c", sdk], local_api.url).splitlines()

    assert (drums.split()[0], vocals.split()[0]) == ("drums", "vocals")
    for url in (master, drums.split()[1], vocals.split()[1]):
        assert_plays_the_demo_audio(url)


def test_the_curl_example_shape_cancels(local_api: LaunchedApi) -> None:
    curl = f'curl -X POST "{local_api.url}{SEED_CANCEL_PATH}" \\\n  -H "X-API-Key: $FREDDY_API_KEY"'

    job = json.loads(run_as_alice(["bash", "-c", curl], local_api.url))

    assert (job["id"], job["status"]) == (SEED_JOB_ID, "succeeded")


def test_the_sdk_example_shape_cancels(local_api: LaunchedApi) -> None:
    sdk = f"""{OUR_CLIENT_IMPORT}

client = Aitronos(api_key={json.dumps(ALICE_KEY)})

job = client.post("{SEED_CANCEL_PATH}")
print(job["status"], job["progress"])
"""

    assert run_as_alice([sys.executable, "-c", sdk], local_api.url) == "succeeded 100\n"
