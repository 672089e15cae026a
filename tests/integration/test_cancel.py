"""Cancel through the job writer and the real cancel handler, against the moto server: a queued job is cancelled
at once, a running one is flagged and the simulator ends it at its next checkpoint with its progress frozen, a
terminal job comes back unchanged, another user's job answers like a missing one and stays untouched; and a cancel
racing the worker's ``succeed`` ends in exactly one of the two outcomes (hypothesis)."""

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cancel_generation.app import lambda_handler as cancel_handler
from music_api.jobs.models import StoredTrack
from music_api.jobs.store import track_key
from music_api.jobs.writer import IllegalTransitionError, JobRef, JobWrite, JobWriter, NewJob, UnknownJobError
from music_local.emulator import LocalAws
from music_local.gateway import LambdaContext
from music_local.simulator import DEMO_AUDIO, Simulator, submission, submit
from tests.helpers.events import generation_event
from tests.helpers.jobs import (
    TERMINAL,
    TickingClock,
    a_track,
    client_view,
    job_ref,
    job_writer,
    stored_item,
    without_signed_urls,
)
from tests.helpers.seed import ALICE, BOB
from tests.helpers.world import DYNAMODB_LOCAL

pytestmark = pytest.mark.dynamodb(DYNAMODB_LOCAL)

TRACK = a_track()
BRING_INTO: dict[str, list[Callable[[JobWriter, JobRef], JobWrite]]] = {
    "queued": [],
    "running": [lambda w, r: w.start(r), lambda w, r: w.report_progress(r, 40)],
    "succeeded": [lambda w, r: w.start(r), lambda w, r: w.succeed(r, TRACK)],
    "failed": [lambda w, r: w.fail(r, "The engine could not finish this track.")],
    "cancelled": [lambda w, r: w.start(r), lambda w, r: w.cancel(r)],
    "refused": [lambda w, r: w.refuse(r, "The prompt names a living artist.")],
}


@pytest.fixture
def writer(aws: LocalAws) -> JobWriter:
    return job_writer(aws, clock=TickingClock())


def job_in(writer: JobWriter, status: str, job_id: str = "mgen_cancelme0001", user_id: str = ALICE) -> JobRef:
    ref = job_ref(job_id, user_id=user_id)
    writer.create(NewJob(ref, "studio", "creation"))
    for step in BRING_INTO[status]:
        step(writer, ref)
    return ref


def cancel(ref: JobRef, *, caller: str = ALICE) -> tuple[int, dict[str, Any]]:
    event = generation_event(ref.organization_id, ref.job_id, user_id=caller, orgs=ref.organization_id)
    event["httpMethod"] = "POST"
    event["resource"] = "/v1/music/{organization_id}/generations/{job_id}/cancel"
    event["path"] = f"/v1/music/{ref.organization_id}/generations/{ref.job_id}/cancel"
    response = cancel_handler(event, LambdaContext(function_name="music-generations-CancelGenerationFunction"))
    return response["statusCode"], json.loads(response["body"])


# No runs_as: the test also reads the job back through the GET handler (client_view), outside cancel's role.
def test_a_queued_job_is_cancelled_at_once(aws: LocalAws, writer: JobWriter) -> None:
    ref = job_in(writer, "queued")

    status, body = cancel(ref)

    assert (status, body["status"], body["progress"]) == (200, "cancelled", 0)
    assert client_view(ref).body == body
    # A worker that picks the message up afterwards finds it cancelled and leaves it.
    with pytest.raises(IllegalTransitionError):
        writer.start(ref)
    assert client_view(ref).body == body


@pytest.mark.runs_as("CancelGenerationFunction")
def test_a_running_job_is_flagged_and_answers_as_it_is_now(aws: LocalAws, writer: JobWriter) -> None:
    ref = job_in(writer, "running")

    status, body = cancel(ref)
    again_status, again = cancel(ref)

    assert (status, body["status"], body["progress"]) == (200, "running", 40)
    assert (again_status, again) == (status, body)
    item = stored_item(aws, ref)
    assert item is not None
    assert item["cancel_requested"] is True
    assert item["version"] == 4  # create, start, progress, one flag: the repeat wrote nothing


# No runs_as: read back through the GET handler too (and a succeeded job's URL is signed by cancel's role in
# tests/integration/test_events.py).
@pytest.mark.parametrize("terminal", sorted(TERMINAL))
def test_a_terminal_job_is_returned_unchanged(aws: LocalAws, writer: JobWriter, terminal: str) -> None:
    ref = job_in(writer, terminal)
    before = stored_item(aws, ref)

    status, body = cancel(ref)

    assert (status, body["status"]) == (200, terminal)
    assert stored_item(aws, ref) == before
    assert without_signed_urls(body) == without_signed_urls(client_view(ref).body)


@pytest.mark.runs_as("CancelGenerationFunction")
def test_another_users_job_answers_like_a_missing_one_and_stays_untouched(aws: LocalAws, writer: JobWriter) -> None:
    bobs = job_in(writer, "running", job_id="mgen_bobsjob00001", user_id=BOB)
    before = stored_item(aws, bobs)

    status, body = cancel(bobs, caller=ALICE)
    missing_status, missing = cancel(job_ref("mgen_neverexisted00"), caller=ALICE)

    assert (status, missing_status) == (404, 404)
    assert body["error"]["code"] == missing["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert stored_item(aws, bobs) == before
    assert stored_item(aws, job_ref("mgen_bobsjob00001")) is None  # no item was created under Alice's key


@pytest.mark.runs_as("CancelGenerationFunction")
def test_the_writer_never_creates_a_job_it_was_asked_to_cancel(aws: LocalAws, writer: JobWriter) -> None:
    ref = job_ref("mgen_neverexisted00")

    with pytest.raises(UnknownJobError):
        writer.request_cancel(ref)
    assert stored_item(aws, ref) is None


def test_the_simulator_stops_a_flagged_job_at_its_next_checkpoint(aws: LocalAws) -> None:
    now = [1000.0]
    simulator = Simulator(aws, audio=DEMO_AUDIO.read_bytes(), clock=lambda: now[0])
    new_job, simulation = submission(
        job_ref("mgen_simcancel0001"), title="Stopped Early", outcome="succeeded", running_seconds=20
    )
    ref = new_job.ref
    submit(job_writer(aws), new_job, simulation.model_copy(update={"since": now[0], "queued_seconds": 1}))
    now[0] += 11  # half-way through the run
    simulator.tick()
    running = client_view(ref).body
    assert running["status"] == "running"

    status, body = cancel(ref)
    now[0] += 5  # the run would have progressed further
    simulator.tick()

    assert (status, body["status"]) == (200, "running")
    final = client_view(ref).body
    assert (final["status"], final["progress"], final["track"]) == ("cancelled", running["progress"], None)
    now[0] += 60  # and nothing moves it again
    simulator.tick()
    assert client_view(ref).body == final


# --- cancel racing the worker's succeed ---------------------------------------------------------------------


def _worker(writer: JobWriter, aws: LocalAws, ref: JobRef, checkpoints: list[int], track: StoredTrack) -> None:
    """A cooperative worker: before each step it reads the job and stops at a requested cancel."""
    for progress in [*checkpoints, 100]:
        item = stored_item(aws, ref)
        if item is not None and item.get("cancel_requested"):
            writer.cancel(ref)
            return
        if progress == 100:
            writer.succeed(ref, track)
        else:
            writer.report_progress(ref, progress)


def test_a_cancel_racing_the_workers_succeed_ends_in_exactly_one_outcome(aws: LocalAws) -> None:
    # The worker's side signs as the administrator: a botocore client is safe to share between the racing threads.
    writer = JobWriter(aws.client("dynamodb"), aws.jobs_table)
    numbers = iter(range(1, 10_000))
    outcomes: list[str] = []

    @settings(
        max_examples=30, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(
        checkpoints=st.lists(st.integers(1, 99), max_size=3).map(sorted),
        cancels=st.integers(1, 2),
        cancel_after=st.sampled_from([0.0, 0.005, 0.02]),  # seconds: the cancel lands early, mid-run or late
    )
    def race(checkpoints: list[int], cancels: int, cancel_after: float) -> None:
        number = next(numbers)
        ref = job_ref(f"mgen_race{number:08d}")
        track = a_track(f"mtrack_race{number:08d}")  # a track id is the one job's that made it
        writer.create(NewJob(ref, "studio", "creation"))
        writer.start(ref)
        barrier = threading.Barrier(1 + cancels)
        answers: list[str] = []

        def worker() -> None:
            barrier.wait()
            _worker(writer, aws, ref, checkpoints, track)

        def canceller() -> None:
            barrier.wait()
            time.sleep(cancel_after)
            answers.append(writer.request_cancel(ref).job.status)

        threads = [threading.Thread(target=worker)] + [threading.Thread(target=canceller) for _ in range(cancels)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        final = client_view(ref).body
        # The track's own item is written with the success, in one transaction: it exists iff the job succeeded.
        track_item = aws.dynamodb.get_item(
            TableName=aws.jobs_table, Key=track_key(ref.organization_id, ref.user_id, track.id), ConsistentRead=True
        ).get("Item")
        assert (track_item is not None) is (final["status"] == "succeeded")
        if final["status"] == "succeeded":
            assert (final["progress"], final["track"]["id"], final["result_track_id"]) == (100, track.id, track.id)
        else:
            assert final["status"] == "cancelled"
            assert (final["track"], final["result_track_id"], final["playback_url"]) == (None, None, None)
            assert final["progress"] in {0, *checkpoints}
        assert set(answers) <= {"running", final["status"]}
        outcomes.append(final["status"])

    race()

    assert len(outcomes) >= 30
