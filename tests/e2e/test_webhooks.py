"""Completion webhooks on the local API as ``make run`` starts it: a job created with a ``webhook_url`` of a
loopback receiver ends (the generation worker runs it), and the receiver gets exactly one event, verified with the
secret the banner prints."""

import re
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from freddy_music import Client, JobStatus
from music_local.launcher import LaunchedApi
from tests.helpers.scripted_server import Answer, ScriptedServer
from tests.helpers.seed import ALICE_KEY, ORG
from tests.helpers.webhooks import verified, wait_for

WALKTHROUGH = Path(__file__).resolve().parents[2] / "docs" / "walkthrough.md"

HOOK = "/music-hook"


@pytest.fixture
def receiver() -> Iterator[ScriptedServer]:
    with ScriptedServer().running() as server:
        server.script(HOOK, Answer(204))
        yield server


def test_a_created_job_tells_its_receiver_once_when_it_ends(local_api: LaunchedApi, receiver: ScriptedServer) -> None:
    (secret,) = re.findall(r"--secret (whsec_\S+)", "".join(local_api.output))
    # The client's create has no webhook_url parameter yet: the request as the banner's curl sends it.
    body = {
        "engine": "studio",
        "prompt": "rain on a tin roof",
        "duration_seconds": 5,
        "webhook_url": receiver.url + HOOK,
    }
    created = httpx.post(
        f"{local_api.url}/v1/music/{ORG}/generations", json=body, headers={"X-API-Key": ALICE_KEY}, timeout=30
    )
    assert created.status_code == 202
    job_id = created.json()["id"]
    with Client(ALICE_KEY, base_url=local_api.url) as client:
        finished = client.generations.wait(ORG, job_id, timeout=60)
    assert finished.status == JobStatus.SUCCEEDED
    wait_for(lambda: len(receiver.requests_to(HOOK)) >= 1)
    time.sleep(2)  # long enough for a duplicate to show, were one sent
    (request,) = receiver.requests_to(HOOK)
    event = verified(request, secret)
    assert event["type"] == "generation.succeeded"
    assert event["data"]["id"] == job_id
    assert event["data"]["track"]["id"] == finished.result_track_id
    assert "playback_url" not in event["data"]


def test_the_walkthroughs_receiver_prints_the_verified_event(local_api: LaunchedApi) -> None:
    """The walkthrough's ten-line receiver, run as written but for its secret and port, gets a real delivery."""
    (secret,) = re.findall(r"--secret (whsec_\S+)", "".join(local_api.output))
    walkthrough = WALKTHROUGH.read_text(encoding="utf-8")
    (code,) = [
        block
        for block in re.findall(r"^```python\n(.*?)^```", walkthrough, re.MULTILINE | re.DOTALL)
        if "serve_forever" in block
    ]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = code.replace('"whsec_..."', repr(secret)).replace("8765", str(port))
    receiver = subprocess.Popen(  # noqa: S603 - the walkthrough's own code, on loopback
        [sys.executable, "-u", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        body = {"engine": "studio", "prompt": "rain", "duration_seconds": 3, "webhook_url": f"http://127.0.0.1:{port}/"}
        created = httpx.post(
            f"{local_api.url}/v1/music/{ORG}/generations", json=body, headers={"X-API-Key": ALICE_KEY}, timeout=30
        )
        assert created.status_code == 202
        job_id = created.json()["id"]
        assert receiver.stdout is not None
        ready, _, _ = select.select([receiver.stdout], [], [], 60)  # the job runs, then its event is delivered
        assert ready, "the receiver printed nothing within 60 s"
        line = receiver.stdout.readline()
    finally:
        receiver.kill()  # the subprocess this test started, by its handle
        receiver.communicate(timeout=10)
    webhook_id, event_type, printed_job = line.split()
    assert webhook_id.startswith("evt_")
    assert (event_type, printed_job) == ("generation.succeeded", job_id)
