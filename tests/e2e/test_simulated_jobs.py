"""Simulated jobs over HTTP, as a client follows them: one job per outcome (queued 1 s, running 4 s:
tests/data/lifecycle.json) polled every 0.5 s through the local API from start-up until a second after the last
has ended, then the succeeded job's audio downloaded."""

import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest

from music_local.fixtures import read_fixtures
from music_local.launcher import ROOT, launched
from music_local.simulator import DEMO_AUDIO
from tests.helpers.http import request_json
from tests.helpers.jobs import IN_FLIGHT, STATUS_RANK, TERMINAL, without_signed_urls
from tests.helpers.seed import ALICE_KEY, ORG

FIXTURES = ROOT / "tests" / "data" / "lifecycle.json"
OUTCOMES = {job.id: job.simulate.outcome for job in read_fixtures(FIXTURES).content.generations if job.simulate}
Q, R = 1, 4
POLL_SECONDS = 0.5
DEADLINE_SECONDS = Q + R + 3
RETRY_AFTER = {"queued": "5", "running": "2"}


@dataclass(frozen=True)
class Poll:
    at: float  # seconds after the local API said it was ready (the fixtures were loaded just before)
    status_code: int
    retry_after: str | None
    body: dict[str, Any]

    @property
    def status(self) -> str:
        return str(self.body["status"])


@dataclass(frozen=True)
class Followed:
    polls: dict[str, list[Poll]]
    audio: bytes

    def of(self, outcome: str) -> list[Poll]:
        return next(polls for job_id, polls in self.polls.items() if OUTCOMES[job_id] == outcome)


@pytest.fixture(scope="module")
def followed() -> Followed:
    with launched("--fixtures", str(FIXTURES)) as api:
        ready = time.monotonic()
        polls: dict[str, list[Poll]] = {job_id: [] for job_id in OUTCOMES}
        all_ended_at: float | None = None
        while time.monotonic() - ready < DEADLINE_SECONDS + 5:
            round_started = time.monotonic()
            for job_id, seen in polls.items():
                status, headers, body = request_json(api.url, f"/v1/music/{ORG}/generations/{job_id}", ALICE_KEY)
                seen.append(Poll(round_started - ready, status, headers.get("Retry-After"), body))
            if all_ended_at is None and all(seen[-1].status in TERMINAL for seen in polls.values()):
                all_ended_at = round_started
            if all_ended_at is not None and round_started - all_ended_at >= 1:
                break
            time.sleep(max(0.0, round_started + POLL_SECONDS - time.monotonic()))
        succeeded = next(seen[-1] for seen in polls.values() if seen[-1].status == "succeeded")
        with urllib.request.urlopen(succeeded.body["playback_url"], timeout=30) as download:  # noqa: S310 - loopback
            audio = download.read()
    assert api.exit_code == 0
    return Followed(polls, audio)


def test_every_job_reaches_its_outcome_by_q_plus_r_plus_3_seconds(followed: Followed) -> None:
    ended = {
        job_id: next((poll for poll in polls if poll.status in TERMINAL), None)
        for job_id, polls in followed.polls.items()
    }

    assert {job_id: poll.status for job_id, poll in ended.items() if poll} == OUTCOMES
    assert all(poll is not None and poll.at <= DEADLINE_SECONDS for poll in ended.values()), ended


def test_no_read_goes_backwards_and_an_ended_job_never_changes(followed: Followed) -> None:
    for polls in followed.polls.values():
        order = [(STATUS_RANK[poll.status], poll.body["progress"]) for poll in polls]
        assert order == sorted(order)
        progress = [poll.body["progress"] for poll in polls]
        assert progress == sorted(progress)
        ended = [without_signed_urls(poll.body) for poll in polls if poll.status in TERMINAL]
        assert len(ended) >= 2
        assert all(body == ended[0] for body in ended)


def test_retry_after_on_every_answer_in_flight_and_on_no_final_one(followed: Followed) -> None:
    for polls in followed.polls.values():
        assert {poll.status_code for poll in polls} == {200}
        assert [poll.retry_after for poll in polls] == [RETRY_AFTER.get(poll.status) for poll in polls]


def test_each_job_is_queued_first_and_runs_with_rising_progress_unless_refused(followed: Followed) -> None:
    for job_id, polls in followed.polls.items():
        assert (polls[0].status, polls[0].body["progress"]) == ("queued", 0), job_id
        running = [poll.body["progress"] for poll in polls if poll.status == "running"]
        if OUTCOMES[job_id] == "refused":
            assert running == []
        elif OUTCOMES[job_id] == "cancelled":
            assert len(set(running) - {0}) >= 2  # runs only R/2
        else:
            assert len(set(running) - {0}) >= 3, running
        assert all(value <= 99 for value in running)
    assert {poll.status for polls in followed.polls.values() for poll in polls} <= {*IN_FLIGHT, *TERMINAL}


def test_each_outcome_carries_what_it_should(followed: Followed) -> None:
    succeeded = followed.of("succeeded")[-1].body
    assert (succeeded["progress"], succeeded["track"]["title"]) == (100, "Four Second Song")
    assert succeeded["result_track_id"] == succeeded["track"]["id"] == "mtrack_lcsucceeded1"
    failed = followed.of("failed")[-1].body
    assert (failed["error_message"], failed["track"], failed["playback_url"]) == (
        "The engine could not finish this track. Please retry.",
        None,
        None,
    )
    refused = followed.of("refused")[-1].body
    assert refused["refusal_reason"] == "The prompt asks to imitate a living artist's voice."
    cancelled = followed.of("cancelled")
    first_cancelled = next(poll for poll in cancelled if poll.status == "cancelled")
    last_running = [poll.body["progress"] for poll in cancelled if poll.status == "running"][-1]
    assert first_cancelled.at < Q + R  # it ends halfway through its run, not at its end
    assert last_running <= first_cancelled.body["progress"] <= 99  # frozen where the run stopped


def test_the_succeeded_jobs_playback_url_downloads_its_mp3(followed: Followed) -> None:
    assert followed.audio == DEMO_AUDIO.read_bytes()


def test_a_running_job_cancelled_through_the_api_ends_cancelled_with_its_progress_frozen() -> None:
    """The job that would succeed: cancelled through the API while running, the simulator stops it at its next
    checkpoint; it never succeeds and its progress stays where it stopped."""
    job_path = f"/v1/music/{ORG}/generations/mgen_lcsucceeded1"
    with launched("--fixtures", str(FIXTURES)) as api:
        ready = time.monotonic()
        status = "queued"
        while status == "queued" and time.monotonic() - ready < DEADLINE_SECONDS:
            time.sleep(0.1)
            status = request_json(api.url, job_path, ALICE_KEY)[2]["status"]
        code, _, answer = request_json(api.url, f"{job_path}/cancel", ALICE_KEY, "POST")
        ended: list[dict[str, Any]] = []
        while len(ended) < 3 and time.monotonic() - ready < DEADLINE_SECONDS + 2:
            time.sleep(POLL_SECONDS)
            body = request_json(api.url, job_path, ALICE_KEY)[2]
            if body["status"] in TERMINAL:
                ended.append(body)
    assert (status, code, answer["status"]) == ("running", 200, "running")
    assert [body["status"] for body in ended] == ["cancelled"] * 3
    assert {body["progress"] for body in ended} == {ended[0]["progress"]}
    assert answer["progress"] <= ended[0]["progress"] < 100
