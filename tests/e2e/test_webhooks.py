"""Completion webhooks on the local API as ``make run`` starts it: a job created with a ``webhook_url`` of a
loopback receiver ends (the simulator runs it), and the receiver gets exactly one event, verified with the
secret the banner prints."""

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from freddy_music import Client, JobStatus
from music_local.launcher import LaunchedApi
from tests.helpers.scripted_server import Answer, ScriptedServer
from tests.helpers.seed import ALICE_KEY, ORG
from tests.helpers.webhooks import verified, wait_for

HOOK = "/music-hook"


@pytest.fixture
def receiver() -> Iterator[ScriptedServer]:
    with ScriptedServer().running() as server:
        server.script(HOOK, Answer(204))
        yield server


def test_a_created_job_tells_its_receiver_once_when_it_ends(local_api: LaunchedApi, receiver: ScriptedServer) -> None:
    (secret,) = re.findall(r"--secret (whsec_\S+)", "".join(local_api.output))
    # The client's create has no webhook_url parameter yet: the request as the README's curl sends it.
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
