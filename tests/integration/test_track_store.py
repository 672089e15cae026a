"""The job writer's ``succeed`` writes the track's own item in one transaction with the job: a track exists if and
only if its job succeeded, keyed to its owner, with its licence stated; and no read of jobs ever meets one."""

import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from list_generations.app import lambda_handler as list_handler
from music_api.core.dynamodb import from_item, to_item
from music_api.jobs.models import StoredTrack
from music_api.jobs.store import (
    JOBS_BY_CREATION_INDEX,
    JOBS_BY_STATUS_INDEX,
    owner_key,
    status_key,
    track_key,
)
from music_api.jobs.writer import (
    IllegalTransitionError,
    InvalidJobWriteError,
    JobRef,
    JobWriter,
    NewJob,
    TrackConflictError,
    UnknownJobError,
)
from music_local.emulator import LocalAws
from music_local.gateway import LambdaContext
from music_local.simulator import Simulator
from tests.helpers.events import load_event
from tests.helpers.jobs import TickingClock, a_track, job_ref, job_writer, stored_item
from tests.helpers.seed import ALICE, BOB, DEMO, ORG
from tests.helpers.world import DYNAMODB_LOCAL

pytestmark = pytest.mark.dynamodb(DYNAMODB_LOCAL)

REF = job_ref("mgen_tracked0001")


@pytest.fixture
def writer(aws: LocalAws) -> JobWriter:
    return job_writer(aws, clock=TickingClock())


def running(writer: JobWriter, ref: JobRef = REF) -> JobRef:
    writer.create(NewJob(ref, "studio", "creation"))
    writer.start(ref)
    return ref


def track_item(aws: LocalAws, ref: JobRef, track_id: str) -> dict[str, Any] | None:
    item = aws.dynamodb.get_item(
        TableName=aws.jobs_table, Key=track_key(ref.organization_id, ref.user_id, track_id), ConsistentRead=True
    ).get("Item")
    return None if item is None else from_item(item)


def test_succeed_writes_the_track_item_under_its_owners_key_at_the_jobs_finish(
    aws: LocalAws, writer: JobWriter
) -> None:
    track = a_track().model_copy(update={"stems": {"vocals": f"audio/{ORG}/mtrack_written01/vocals.mp3"}})

    finished = writer.succeed(running(writer), track)

    job = stored_item(aws, REF)
    assert job is not None
    assert track_item(aws, REF, track.id) == {
        "pk": f"ORG#{ORG}#USER#{ALICE}#TRACKS",
        "sk": f"TRACK#{track.id}",
        "id": track.id,
        "title": track.title,
        "engine": "studio",
        "mode": "creation",
        "instrumental": True,
        "measured_duration_seconds": Decimal("119.4"),
        "mime_type": "audio/mpeg",
        "licence_class": "personal_only",
        "audio_key": track.audio_key,
        "stems": {"vocals": f"audio/{ORG}/mtrack_written01/vocals.mp3"},
        # The worker did not state the licence: the reading that claims least.
        "commercial_use": False,
        "requires_attribution": True,
        "organization_id": ORG,
        "user_id": ALICE,
        "job_id": REF.job_id,
        "created_at": job["finished_at"],
    }
    assert finished.changed
    assert finished.job.track == track  # the job carries the track as the worker gave it


def test_the_licence_a_worker_states_is_stored_as_stated(aws: LocalAws, writer: JobWriter) -> None:
    track = a_track().model_copy(
        update={"licence_class": "commercial_cleared", "commercial_use": True, "requires_attribution": False}
    )

    writer.succeed(running(writer), track)

    stored = track_item(aws, REF, track.id)
    assert stored is not None
    assert (stored["licence_class"], stored["commercial_use"], stored["requires_attribution"]) == (
        "commercial_cleared",
        True,
        False,
    )


def test_a_track_never_overstates_its_licence() -> None:
    with pytest.raises(ValidationError, match="overstates"):
        StoredTrack.model_validate(a_track().model_dump() | {"commercial_use": True})


@pytest.mark.parametrize("stem_key", ["private/vocals.mp3", f"audio/{ORG}/../private/vocals.mp3"])
def test_a_stem_outside_the_audio_prefix_is_refused_before_writing(
    aws: LocalAws, writer: JobWriter, stem_key: str
) -> None:
    ref = running(writer)
    before = stored_item(aws, ref)

    with pytest.raises(InvalidJobWriteError, match="audio key"):
        writer.succeed(ref, a_track().model_copy(update={"stems": {"vocals": stem_key}}))

    assert stored_item(aws, ref) == before
    assert track_item(aws, ref, a_track().id) is None


def test_a_failed_job_condition_writes_neither_item(aws: LocalAws, writer: JobWriter) -> None:
    queued = job_ref("mgen_stillqueued1")
    writer.create(NewJob(queued, "studio", "creation"))
    before = stored_item(aws, queued)

    with pytest.raises(IllegalTransitionError):
        writer.succeed(queued, a_track())
    with pytest.raises(UnknownJobError):
        writer.succeed(job_ref("mgen_nosuchjob001"), a_track("mtrack_nosuchjob01"))

    assert stored_item(aws, queued) == before
    assert track_item(aws, queued, a_track().id) is None
    assert track_item(aws, queued, "mtrack_nosuchjob01") is None


def test_a_repeated_succeed_changes_nothing(aws: LocalAws, writer: JobWriter) -> None:
    writer.succeed(running(writer), a_track())
    job, track = stored_item(aws, REF), track_item(aws, REF, a_track().id)

    again = writer.succeed(REF, a_track())

    assert not again.changed
    assert (stored_item(aws, REF), track_item(aws, REF, a_track().id)) == (job, track)


def test_a_reused_track_id_leaves_the_job_running_and_the_first_track_as_it_was(
    aws: LocalAws, writer: JobWriter
) -> None:
    writer.succeed(running(writer), a_track())
    first = track_item(aws, REF, a_track().id)
    second = running(writer, job_ref("mgen_secondjob001"))
    before = stored_item(aws, second)

    with pytest.raises(TrackConflictError):
        writer.succeed(second, a_track(title="Another Track"))

    assert stored_item(aws, second) == before
    assert track_item(aws, REF, a_track().id) == first


# --- no read of jobs meets a track ---------------------------------------------------------------------------


@pytest.fixture
def alice_with_tracks(aws: LocalAws, writer: JobWriter) -> list[str]:
    """Three more of Alice's jobs succeeded through the writer (besides the demo's), each with its track item."""
    ids = []
    for number in range(3):
        ref = running(writer, job_ref(f"mgen_withtrack{number:03d}"))
        writer.succeed(ref, a_track(f"mtrack_withtrack{number:03d}"))
        ids.append(ref.job_id)
    return ids


def query(aws: LocalAws, index: str | None, name: str, value: str) -> list[dict[str, Any]]:
    arguments: dict[str, Any] = {
        "TableName": aws.jobs_table,
        "KeyConditionExpression": "#p = :p",
        "ExpressionAttributeNames": {"#p": name},
        "ExpressionAttributeValues": to_item({":p": value}),
    }
    if index is not None:
        arguments["IndexName"] = index
    return [from_item(item) for item in aws.dynamodb.query(**arguments)["Items"]]


def test_the_list_indexes_and_the_job_partition_hold_jobs_only(aws: LocalAws, alice_with_tracks: list[str]) -> None:
    in_index = query(aws, JOBS_BY_CREATION_INDEX, "pk", owner_key(ORG, ALICE))
    in_status_index = query(aws, JOBS_BY_STATUS_INDEX, "status_pk", status_key(ORG, ALICE, "succeeded"))
    in_partition = query(aws, None, "pk", owner_key(ORG, ALICE))

    for items in (in_index, in_status_index, in_partition):
        assert items
        assert {item["sk"].split("#")[0] for item in items} == {"JOB"}
    assert set(alice_with_tracks) <= {item["id"] for item in in_status_index}


def test_track_items_carry_none_of_the_attributes_jobs_are_found_by(
    aws: LocalAws, alice_with_tracks: list[str]
) -> None:
    """What a scan or a sweeper selects jobs by (status, the index keys, the worker's request) is never on a track."""
    items = [from_item(item) for item in aws.dynamodb.scan(TableName=aws.jobs_table)["Items"]]
    tracks = [item for item in items if item["sk"].startswith("TRACK#")]

    assert len(tracks) == 3 + 3  # the demo's three succeeded jobs and the fixture's three
    for track in tracks:
        assert track["pk"].endswith("#TRACKS")
        assert {"status", "status_pk", "created_key", "request", "progress"}.isdisjoint(track)
    jobs = [item for item in items if item["sk"].startswith("JOB#")]
    assert {"status", "status_pk", "created_key"} <= set.intersection(*(set(job) for job in jobs))


@pytest.mark.runs_as("ListGenerationsFunction")
def test_the_list_route_answers_jobs_only(alice_with_tracks: list[str], lambda_context: LambdaContext) -> None:
    response = list_handler(load_event("list_generations.json"), lambda_context)

    ids = [job["id"] for job in json.loads(response["body"])["jobs"]]
    assert response["statusCode"] == 200
    assert all(job_id.startswith("mgen_") for job_id in ids)
    assert len(ids) == len(set(ids)) == 10 + 3


def test_the_simulator_never_picks_up_a_track(aws: LocalAws, alice_with_tracks: list[str]) -> None:
    in_flight = Simulator(aws, audio=b"")._jobs_in_flight()

    assert sorted(job.id for job, _ in in_flight) == sorted(new_job.ref.job_id for new_job, _ in DEMO.simulated)


def test_bobs_succeeded_job_has_its_track_in_his_partition_only(aws: LocalAws) -> None:
    assert track_item(aws, job_ref("mgen_bobjob00001", user_id=BOB), "mtrack_b0b0b0b0b0b0") is not None
    assert track_item(aws, job_ref("mgen_bobjob00001", user_id=ALICE), "mtrack_b0b0b0b0b0b0") is None
