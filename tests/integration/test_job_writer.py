"""The job writer against the moto server: what each operation writes, repeats that change nothing, refusals that
write nothing, and items the GET handler serves. (Random sequences and races: test_lifecycle_properties.py.)"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config

from music_api.core.dynamodb import StoreUnavailableError
from music_api.core.errors import InternalError
from music_api.jobs.models import CorruptJobError, StoredJob
from music_api.jobs.store import job_key, track_key
from music_api.jobs.writer import (
    IllegalTransitionError,
    InvalidJobWriteError,
    JobConflictError,
    JobRef,
    JobWrite,
    JobWriter,
    LifecycleJob,
    NewJob,
    UnknownJobError,
)
from music_local.emulator import LocalAws
from tests.helpers.jobs import TickingClock, a_track, client_view, fixed_clock, job_ref, job_writer, stored_item
from tests.helpers.world import DYNAMODB_LOCAL, MOTO

pytestmark = pytest.mark.dynamodb(DYNAMODB_LOCAL)

REF = job_ref("mgen_lifecycle0001")
TRACK = a_track()
FAILURE = "The engine could not finish this track. Please retry."
REFUSAL = "The prompt asks to imitate a living artist's voice."

Operation = Callable[[JobWriter, JobRef], JobWrite]
OPERATIONS: dict[str, Operation] = {
    "start": lambda writer, ref: writer.start(ref),
    "report_progress": lambda writer, ref: writer.report_progress(ref, 50),
    "succeed": lambda writer, ref: writer.succeed(ref, TRACK),
    "fail": lambda writer, ref: writer.fail(ref, FAILURE),
    "cancel": lambda writer, ref: writer.cancel(ref),
    "refuse": lambda writer, ref: writer.refuse(ref, REFUSAL),
}
# How to bring a new job into each status, and which operations each status allows (docs/data-model.md).
PATHS = {
    "queued": [],
    "running": ["start"],
    "succeeded": ["start", "succeed"],
    "failed": ["fail"],
    "cancelled": ["start", "cancel"],
    "refused": ["refuse"],
}
ALLOWED = {
    "queued": {"start", "fail", "cancel", "refuse"},
    "running": {"report_progress", "succeed", "fail", "cancel"},
}


@pytest.fixture
def writer(aws: LocalAws) -> JobWriter:
    return job_writer(aws, clock=TickingClock())


def job_in(writer: JobWriter, status: str, ref: JobRef = REF) -> None:
    writer.create(NewJob(ref, "studio", "creation"))
    for operation in PATHS[status]:
        OPERATIONS[operation](writer, ref)


def test_create_writes_a_queued_job_that_the_handler_serves(aws: LocalAws, writer: JobWriter) -> None:
    written = writer.create(NewJob(REF, "studio", "focus"), request={"prompt": "rain on a tin roof", "seconds": 30})

    assert written.changed
    item = stored_item(aws, REF)
    assert item is not None
    assert {key: item[key] for key in ("status", "progress", "version", "engine", "mode")} == {
        "status": "queued",
        "progress": 0,
        "version": 1,
        "engine": "studio",
        "mode": "focus",
    }
    assert item["created_at"] == item["updated_at"] == "2026-06-28T10:30:01Z"
    assert "started_at" not in item
    assert "finished_at" not in item
    assert item["request"] == {"prompt": "rain on a tin roof", "seconds": 30}
    assert written.job == LifecycleJob.model_validate(item)
    view = client_view(REF)
    assert view.status_code == 200
    assert view.headers["Retry-After"] == "5"
    assert (view.body["status"], view.body["progress"], view.body["track"]) == ("queued", 0, None)


def test_a_job_runs_to_success_and_the_handler_signs_its_audio(aws: LocalAws, writer: JobWriter) -> None:
    writer.create(NewJob(REF, "studio", "creation"))
    writer.start(REF)
    writer.report_progress(REF, 10)
    running = client_view(REF)
    finished = writer.succeed(REF, TRACK)

    assert (running.body["status"], running.body["progress"], running.headers["Retry-After"]) == ("running", 10, "2")
    item = stored_item(aws, REF)
    assert item is not None
    assert (item["status"], item["progress"], item["version"]) == ("succeeded", 100, 4)
    assert (item["started_at"], item["finished_at"], item["updated_at"]) == (
        "2026-06-28T10:30:02Z",
        "2026-06-28T10:30:04Z",
        "2026-06-28T10:30:04Z",
    )
    assert item["result_track_id"] == TRACK.id
    assert item["track"]["audio_key"] == TRACK.audio_key
    assert finished.job.track == TRACK
    view = client_view(REF)
    assert view.status_code == 200
    assert "Retry-After" not in view.headers
    assert view.body["result_track_id"] == TRACK.id
    assert view.body["track"]["title"] == TRACK.title
    assert view.body["playback_url"] == view.body["track"]["playback_url"]
    assert f"/{TRACK.audio_key}?" in view.body["playback_url"]


@pytest.mark.parametrize(
    ("status", "operation"),
    [
        (status, operation)
        for status, path in PATHS.items()
        for operation in OPERATIONS
        # neither allowed nor a repeat of the operation that brought the job there (see the next test)
        if operation not in ALLOWED.get(status, ()) and path[-1:] != [operation]
    ],
)
def test_an_operation_the_status_does_not_allow_is_refused_and_writes_nothing(
    aws: LocalAws, writer: JobWriter, status: str, operation: str
) -> None:
    job_in(writer, status)
    before = stored_item(aws, REF)

    with pytest.raises(IllegalTransitionError) as refused:
        OPERATIONS[operation](writer, REF)

    assert (refused.value.operation, refused.value.status) == (operation, status)
    assert stored_item(aws, REF) == before


@pytest.mark.parametrize("operation", [*OPERATIONS, "create"])
def test_an_operation_delivered_twice_changes_the_job_once(aws: LocalAws, writer: JobWriter, operation: str) -> None:
    def apply() -> JobWrite:
        if operation == "create":
            return writer.create(NewJob(REF, "studio", "creation"), request={"prompt": "waves", "seconds": 12.5})
        return OPERATIONS[operation](writer, REF)

    if operation != "create":
        job_in(writer, "running" if operation in ALLOWED["running"] else "queued")
    first = apply()
    after_first = stored_item(aws, REF)

    second = apply()

    assert (first.changed, second.changed) == (True, False)
    assert stored_item(aws, REF) == after_first
    assert second.job == first.job


def test_another_job_under_the_same_id_is_a_conflict(aws: LocalAws, writer: JobWriter) -> None:
    writer.create(NewJob(REF, "studio", "creation"), request={"prompt": "waves"})
    before = stored_item(aws, REF)

    for engine, mode, request in [("other", "creation", {"prompt": "waves"}), ("studio", "focus", {"prompt": "waves"})]:
        with pytest.raises(JobConflictError):
            writer.create(NewJob(REF, engine, mode), request=request)  # type: ignore[arg-type]
    with pytest.raises(JobConflictError):
        writer.create(NewJob(REF, "studio", "creation"), request={"prompt": "wind"})

    assert stored_item(aws, REF) == before


def test_progress_only_rises_and_late_reports_are_ignored(aws: LocalAws, writer: JobWriter) -> None:
    job_in(writer, "running")

    results = [writer.report_progress(REF, value) for value in (30, 30, 10, 31, 0, 99)]

    assert [result.changed for result in results] == [True, False, False, True, False, True]
    assert [result.job.progress for result in results] == [30, 30, 30, 31, 31, 99]
    item = stored_item(aws, REF)
    assert item is not None
    assert (item["progress"], item["version"]) == (99, 5)


@pytest.mark.dynamodb(MOTO, DYNAMODB_LOCAL)
def test_a_writer_whose_clock_is_behind_never_moves_the_jobs_time_back(aws: LocalAws) -> None:
    """Two writers racing on one job (a worker and the cancel route): the one that read its clock first can land
    second. It writes at the job's own, later time instead, through an update and through succeed's transaction,
    and what it may not do is refused or a repeat exactly as with a clock in step."""
    later = datetime(2026, 6, 28, 10, 0, 43, tzinfo=UTC)
    ahead = job_writer(aws, clock=fixed_clock(later))
    behind = job_writer(aws, clock=fixed_clock(later - timedelta(seconds=1)))
    behind.create(NewJob(REF, "studio", "creation"))
    ahead.start(REF)

    written = [behind.report_progress(REF, 10), behind.request_cancel(REF), behind.succeed(REF, TRACK)]

    assert [write.changed for write in written] == [True, True, True]
    item = stored_item(aws, REF)
    assert item is not None
    assert (item["status"], item["progress"], item["version"]) == ("succeeded", 100, 5)
    stamps = [item[name] for name in ("updated_at", "started_at", "heartbeat_at", "finished_at")]
    assert stamps == ["2026-06-28T10:00:43Z"] * 4
    track = aws.dynamodb.get_item(TableName=aws.jobs_table, Key=track_key(REF.organization_id, REF.user_id, TRACK.id))
    assert track["Item"]["created_at"] == {"S": "2026-06-28T10:00:43Z"}
    with pytest.raises(IllegalTransitionError):
        behind.cancel(REF)
    assert behind.succeed(REF, TRACK).changed is False
    assert stored_item(aws, REF) == item


@pytest.mark.parametrize(
    ("operation", "problem"),
    [
        (lambda writer: writer.report_progress(REF, 100), "progress must be a whole number from 0 to 99"),
        (lambda writer: writer.report_progress(REF, -1), "progress must be a whole number"),
        (lambda writer: writer.report_progress(REF, True), "progress must be a whole number"),
        (lambda writer: writer.fail(REF, "  "), "error_message must be a non-empty text"),
        (lambda writer: writer.fail(REF, "x" * 1001), "error_message: String should have at most 1000 characters"),
        (lambda writer: writer.refuse(REF, ""), "refusal_reason must be a non-empty text"),
        (
            lambda writer: writer.succeed(REF, TRACK.model_copy(update={"audio_key": "private/x.mp3"})),
            "the audio key must be below audio/",
        ),
        (
            lambda writer: writer.succeed(REF, TRACK.model_copy(update={"audio_key": "audio/../private/x.mp3"})),
            "the audio key must be below audio/",
        ),
        (
            lambda writer: writer.create(NewJob(job_ref("mgen_lifecycle0002"), "", "creation")),
            "engine: String should have at least 1 character",
        ),
    ],
)
def test_values_the_reader_would_call_corrupt_are_refused_before_writing(
    aws: LocalAws, writer: JobWriter, operation: Callable[[JobWriter], Any], problem: str
) -> None:
    job_in(writer, "running")
    before = stored_item(aws, REF)

    with pytest.raises(InvalidJobWriteError, match=problem.replace("(", r"\(")):
        operation(writer)

    assert stored_item(aws, REF) == before
    assert stored_item(aws, job_ref("mgen_lifecycle0002")) is None


def test_malformed_ids_never_reach_a_key() -> None:
    with pytest.raises(InvalidJobWriteError):
        JobRef("org_abc123", "usr_alice01", "mgen_x#JOB")


@pytest.mark.parametrize("operation", OPERATIONS)
def test_an_unknown_job_is_not_created_by_an_update(aws: LocalAws, writer: JobWriter, operation: str) -> None:
    with pytest.raises(UnknownJobError):
        OPERATIONS[operation](writer, REF)

    assert stored_item(aws, REF) is None


def test_a_job_written_before_the_writer_existed_gets_its_first_version(aws: LocalAws, writer: JobWriter) -> None:
    """The fixtures' snapshots carry no version or updated_at: the first write adds them."""
    ref = job_ref("mgen_running0001")

    written = writer.report_progress(ref, 50)

    assert (written.job.version, written.job.progress) == (1, 50)
    assert written.job.updated_at is not None
    assert client_view(ref).body["progress"] == 50


def test_every_item_the_writer_leaves_satisfies_the_readers_model(aws: LocalAws, writer: JobWriter) -> None:
    for number, status in enumerate(PATHS):
        ref = job_ref(f"mgen_lifecycle{number:04d}")
        job_in(writer, status, ref)
        item = stored_item(aws, ref)
        assert item is not None
        assert StoredJob.model_validate(item).status == status
        assert client_view(ref).status_code == 200


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("progress", {"S": "50"}),  # a number stored as a string
        ("id", {"S": "mgen_someoneelse1"}),  # attributes that disagree with the key
    ],
)
def test_a_corrupt_item_is_reported_not_overwritten(
    aws: LocalAws, writer: JobWriter, attribute: str, value: dict[str, str]
) -> None:
    job_in(writer, "queued")
    key = job_key(REF.organization_id, REF.user_id, REF.job_id)
    aws.dynamodb.update_item(
        TableName=aws.jobs_table,
        Key=key,
        UpdateExpression="SET #attribute = :value",
        ExpressionAttributeNames={"#attribute": attribute},
        ExpressionAttributeValues={":value": value},
    )
    before = stored_item(aws, REF)

    with pytest.raises(CorruptJobError):
        writer.report_progress(REF, 10)  # refused (queued), so the writer reads the item it failed on

    assert stored_item(aws, REF) == before


def test_a_missing_table_is_an_internal_error(aws: LocalAws) -> None:
    with pytest.raises(InternalError):
        JobWriter(aws.dynamodb, "no-such-table").start(REF)


def test_an_unreachable_table_is_store_unavailable(aws: LocalAws) -> None:
    client = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1").client(
        "dynamodb", endpoint_url="http://127.0.0.1:9", config=Config(retries={"total_max_attempts": 1})
    )

    with pytest.raises(StoreUnavailableError):
        JobWriter(client, aws.jobs_table).start(REF)
