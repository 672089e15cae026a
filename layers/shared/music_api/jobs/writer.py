"""The job lifecycle, enforced where job items are written: the one way jobs are created and advanced.

Generation workers and the local simulator write through this module; the GET function never imports it
(tests/unit/test_layout.py) and its role may not write. The states (docs/data-model.md#job-lifecycle)::

    create -> queued --start--> running --succeed--> succeeded
              queued --refuse--> refused
              queued | running --fail--> failed
              queued | running --cancel--> cancelled
              queued --request_cancel--> cancelled (no worker has it yet: cancelled at once)
              running --request_cancel--> running with cancel_requested (the worker ends it at its next checkpoint)
              queued --record_dispatch--> queued, one more message sent (the dispatch sweeper)
              running --heartbeat / report_progress--> running, ``heartbeat_at`` now (the worker is alive)
              running --retry_later--> running with retry_pending (a transient engine error: the message returns)
              running with retry_pending --resume--> running (the message's next delivery)
              running --fail_stale--> failed (the dispatch sweeper: no heartbeat for the lease)

A job is in the dispatch sweeper's index while it is queued: ``create`` sets its ``dispatch_pk`` and every write
that changes the status removes it, in the same conditional write. A running job is in the index of running jobs
(``running_pk``, sorted by ``heartbeat_at``): ``start`` sets it and every write that ends the job removes it.

Every operation is one conditional DynamoDB write; ``succeed`` is one transaction of two (the job's conditional
update and its track's own item, created only if no item has its key), so a track exists if and only if its
job succeeded. When a condition fails, DynamoDB hands back the job item as it is
(``ReturnValuesOnConditionCheckFailure=ALL_OLD``) and the item tells the two cases apart: the operation has
already been applied (a queue delivered it again), which succeeds without writing, or it is not allowed from
the job's state, which raises ``IllegalTransitionError``. Either way nothing is written. Every write also requires
the stored ``updated_at`` to be no later than its own, so time never goes backwards on a job (``_apply``).

Every attribute an operation writes is first checked against the field of ``StoredJob`` the reader checks it
with, so the writer cannot leave an item the GET endpoint would call corrupt.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Final

from botocore.exceptions import ClientError
from pydantic import Field, TypeAdapter, ValidationError

from music_api.core.clock import to_utc_z, utc_now
from music_api.core.containers import per_container
from music_api.core.dynamodb import StoreUnavailableError, error_code, from_item, store_errors, to_item
from music_api.core.ids import is_job_id, is_organization_id, is_user_id
from music_api.core.stored import StoredNumber, StoredTimestamp
from music_api.jobs.models import JobMode, JobStatus, StoredJob, StoredTrack, StoredTrackItem
from music_api.jobs.signer import is_signable_audio_key
from music_api.jobs.store import (
    AWAITING_DISPATCH,
    DISPATCH_KEY,
    RUNNING,
    RUNNING_KEY,
    job_item,
    job_key,
    status_key,
    to_job,
    track_key,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import UpdateTypeDef

STORE = "Job store"
TERMINAL_STATUSES: Final[frozenset[JobStatus]] = frozenset({"succeeded", "failed", "cancelled", "refused"})
MAX_RUNNING_PROGRESS = 99  # 100 is what succeed writes
CLOCK_RETRIES = 3  # attempts of one write whose clock is behind the job's updated_at (JobWriter._apply)


class LifecycleJob(StoredJob):
    """A job item with the writer's bookkeeping. ``version`` and ``updated_at`` are ``None`` only on items
    written before the writer existed (the fixtures' snapshots); the GET endpoint reads none of these."""

    version: Annotated[int | None, StoredNumber, Field(ge=1)] = None
    updated_at: StoredTimestamp | None = None
    started_at: StoredTimestamp | None = None
    finished_at: StoredTimestamp | None = None
    # What the worker needs to run the job (the generation request); stored with it, never returned.
    request: dict[str, Any] | None = None
    # Set by ``request_cancel`` on a running job: the worker calls ``cancel`` at its next checkpoint.
    cancel_requested: bool | None = None
    # Set by ``record_dispatch``: when the dispatch sweeper last sent the job's message again, and how often it has.
    dispatched_at: StoredTimestamp | None = None
    dispatch_count: Annotated[int | None, StoredNumber, Field(ge=1)] = None
    # Set while running by every worker write (start, progress, heartbeat): the dispatch sweeper fails a job whose
    # heartbeat is older than the lease (``fail_stale``), so no job stays running after its worker died.
    heartbeat_at: StoredTimestamp | None = None
    # Set by ``retry_later`` (a transient engine error): the message's next delivery resumes the job.
    retry_pending: bool | None = None


@dataclass(frozen=True, slots=True)
class JobRef:
    """Where a job item lives: its key."""

    organization_id: str
    user_id: str
    job_id: str

    def __post_init__(self) -> None:
        if not (is_organization_id(self.organization_id) and is_user_id(self.user_id) and is_job_id(self.job_id)):
            raise InvalidJobWriteError("organization, user or job id is malformed")


@dataclass(frozen=True, slots=True)
class NewJob:
    ref: JobRef
    engine: str
    mode: JobMode


@dataclass(frozen=True, slots=True)
class JobWrite:
    """The job after an operation. ``changed`` is False for a repeat: the item was already so, nothing written."""

    job: LifecycleJob
    changed: bool


class JobWriteError(Exception):
    """An operation the lifecycle refuses; nothing was written."""


class InvalidJobWriteError(JobWriteError):
    """The operation's values would make an item the reader calls corrupt (or break the lifecycle's rules)."""


class UnknownJobError(JobWriteError):
    """No job item under that key."""


class JobConflictError(JobWriteError):
    """``create`` found a different job under the same key."""


class TrackConflictError(JobWriteError):
    """``succeed`` found another track under the track's key (a reused track id); nothing was written."""


class IllegalTransitionError(JobWriteError):
    def __init__(self, operation: str, job: LifecycleJob) -> None:
        super().__init__(f"cannot {operation} job {job.id}: it is {job.status}")
        self.operation = operation
        self.status: JobStatus = job.status
        self.job = job


@dataclass(frozen=True, slots=True)
class _Step:
    """One operation as a conditional update: the statuses it may start from, what it writes, and how to
    recognise a stored item it has already been applied to."""

    operation: str
    sources: tuple[JobStatus, ...]
    writes: Mapping[str, Any]
    applied: Callable[[LifecycleJob], bool]
    stamps: tuple[str, ...] = ()  # timestamp attributes set to now, besides updated_at
    counts: tuple[str, ...] = ()  # number attributes raised by one, besides version
    also: str | None = None  # an extra condition
    also_values: Mapping[str, Any] | None = None  # the values the extra condition names (``:name``)


class JobWriter:
    def __init__(
        self,
        client: "DynamoDBClient",
        table_name: str,
        *,
        audio_key_prefix: str = "audio/",
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._audio_key_prefix = audio_key_prefix
        self._clock = clock

    def create(self, job: NewJob, request: Mapping[str, Any] | None = None) -> JobWrite:
        """A new ``queued`` job at progress 0. A repeat finds the same engine, mode and request under the key."""
        now = self._now()
        ref = job.ref
        values: dict[str, Any] = {
            "id": ref.job_id,
            "organization_id": ref.organization_id,
            "user_id": ref.user_id,
            "status": "queued",
            "progress": 0,
            "engine": job.engine,
            "mode": job.mode,
            "created_at": now,
            "updated_at": now,
            "version": 1,
            # As DynamoDB will hand it back (numbers as Decimal), so that a repeat compares equal.
            "request": from_item(to_item({"request": request}))["request"] if request else None,
        }
        try:
            created = LifecycleJob.model_validate(values)
        except ValidationError as exc:
            raise InvalidJobWriteError(_first_problem(exc)) from exc
        written, stored = self._conditional_write(
            lambda: self._client.put_item(
                TableName=self._table_name,
                Item=job_item(values) | {DISPATCH_KEY: {"S": AWAITING_DISPATCH}},
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        )
        if written:
            return JobWrite(created, changed=True)
        existing = self._job(stored, ref)
        if (existing.engine, existing.mode, existing.request) != (created.engine, created.mode, created.request):
            raise JobConflictError(f"another job already has the id {ref.job_id}")
        return JobWrite(existing, changed=False)

    def start(self, ref: JobRef) -> JobWrite:
        """queued -> running; records ``started_at``."""
        return self._apply(
            ref,
            _Step(
                "start",
                sources=("queued",),
                writes={"status": "running"},
                stamps=("started_at", "heartbeat_at"),
                applied=lambda job: job.status == "running",
            ),
        )

    def resume(self, ref: JobRef) -> JobWrite:
        """running with ``retry_pending`` -> running: the redelivered message of a job ``retry_later`` left; the
        worker runs its engine again (progress stays where it was: it never goes down)."""
        return self._apply(
            ref,
            _Step(
                "resume",
                sources=("running",),
                writes={"retry_pending": False},
                stamps=("heartbeat_at",),
                applied=lambda job: False,  # a second delivery finds it resumed: another worker has it
                also="#retry_pending = :pending",
                also_values={":pending": True},
            ),
        )

    def retry_later(self, ref: JobRef) -> JobWrite:
        """running -> running with ``retry_pending``: the engine met a transient error and the worker returns the
        message to the queue; its next delivery ``resume``s the job. The heartbeat is renewed, so the lease
        counts from here (the message's backoff stays below it)."""
        return self._apply(
            ref,
            _Step(
                "retry_later",
                sources=("running",),
                writes={"retry_pending": True},
                stamps=("heartbeat_at",),
                applied=lambda job: job.status == "running" and job.retry_pending is True,
            ),
        )

    def heartbeat(self, ref: JobRef) -> JobWrite:
        """running -> running, ``heartbeat_at`` now: the worker is alive (between progress reports, which beat too).
        Returns the job as written: the worker reads ``cancel_requested`` from it."""
        return self._apply(
            ref,
            _Step(
                "heartbeat",
                sources=("running",),
                writes={},
                stamps=("heartbeat_at",),
                applied=lambda job: False,
            ),
        )

    def fail_stale(self, ref: JobRef, heartbeat_at: str, error_message: str) -> JobWrite:
        """running -> failed: the dispatch sweeper's end for a job whose worker stopped beating. Conditional on the
        heartbeat the sweeper read (``heartbeat_at``, as stored): a worker that beat since keeps its job."""
        _require_text("error_message", error_message)
        return self._apply(
            ref,
            _Step(
                "fail_stale",
                sources=("running",),
                writes={"status": "failed", "error_message": error_message},
                stamps=("finished_at",),
                applied=lambda job: job.status == "failed" and job.error_message == error_message,
                also="#heartbeat_at = :seen",
                also_values={":seen": heartbeat_at},
            ),
        )

    def report_progress(self, ref: JobRef, progress: int) -> JobWrite:
        """Raise a running job's progress (0-99). A value at or below the stored one is a late or repeated
        report: success without a write, so progress never goes down."""
        if isinstance(progress, bool) or not isinstance(progress, int) or not 0 <= progress <= MAX_RUNNING_PROGRESS:
            raise InvalidJobWriteError(f"progress must be a whole number from 0 to {MAX_RUNNING_PROGRESS}")
        return self._apply(
            ref,
            _Step(
                "report_progress",
                sources=("running",),
                writes={"progress": progress},
                stamps=("heartbeat_at",),
                applied=lambda job: job.status == "running" and job.progress >= progress,
                also="#progress < :progress",
            ),
        )

    def succeed(self, ref: JobRef, track: StoredTrack) -> JobWrite:
        """running -> succeeded at progress 100, with the track (as given), its audio key and ``result_track_id``;
        in the same transaction the track's own item under its owner's key, created at the job's ``finished_at``.

        A licence flag the worker leaves unset is stored on the track's item as the reading that claims least: no
        commercial use, attribution required. The master and every stem must be audio keys below the prefix."""
        for audio_key in (track.audio_key, *(track.stems or {}).values()):
            if not is_signable_audio_key(audio_key, self._audio_key_prefix):
                raise InvalidJobWriteError(f"the audio key must be below {self._audio_key_prefix} without '..'")
        return self._apply(
            ref,
            _Step(
                "succeed",
                sources=("running",),
                writes={
                    "status": "succeeded",
                    "progress": 100,
                    "track": track.model_dump(),
                    "result_track_id": track.id,
                },
                stamps=("finished_at",),
                applied=lambda job: job.status == "succeeded" and job.track == track,
            ),
            track=track,
        )

    def fail(self, ref: JobRef, error_message: str) -> JobWrite:
        """queued | running -> failed, with a message a user may read (it is returned as is)."""
        return self._fail(ref, error_message, "fail", ("queued", "running"))

    def fail_unscheduled(self, ref: JobRef, error_message: str) -> JobWrite:
        """queued -> failed: the dispatch sweeper's end for a job no worker started in time. Never a running job:
        a worker that took it after the sweeper read its index keeps it."""
        return self._fail(ref, error_message, "fail_unscheduled", ("queued",))

    def _fail(self, ref: JobRef, error_message: str, operation: str, sources: tuple[JobStatus, ...]) -> JobWrite:
        _require_text("error_message", error_message)
        return self._apply(
            ref,
            _Step(
                operation,
                sources=sources,
                writes={"status": "failed", "error_message": error_message},
                stamps=("finished_at",),
                applied=lambda job: job.status == "failed" and job.error_message == error_message,
            ),
        )

    def cancel(self, ref: JobRef) -> JobWrite:
        """queued | running -> cancelled; progress stays where it was."""
        return self._apply(
            ref,
            _Step(
                "cancel",
                sources=("queued", "running"),
                writes={"status": "cancelled"},
                stamps=("finished_at",),
                applied=lambda job: job.status == "cancelled",
            ),
        )

    def request_cancel(self, ref: JobRef) -> JobWrite:
        """What the cancel endpoint asks for (cooperative, idempotent): a queued job no worker has started is
        cancelled at once (a worker's ``start`` then finds it cancelled and leaves it); a running job is flagged
        ``cancel_requested`` for its worker; a terminal job is returned as it is, unchanged."""
        try:
            return self._apply(
                ref,
                _Step(
                    "cancel",
                    sources=("queued",),
                    writes={"status": "cancelled"},
                    stamps=("finished_at",),
                    applied=lambda job: job.status == "cancelled",
                ),
            )
        except IllegalTransitionError as not_queued:
            if not_queued.status != "running":
                return JobWrite(not_queued.job, changed=False)
        try:
            return self._apply(
                ref,
                _Step(
                    "request_cancel",
                    sources=("running",),
                    writes={"cancel_requested": True},
                    applied=lambda job: job.status == "running" and job.cancel_requested is True,
                    also="attribute_not_exists(#cancel_requested)",  # a repeat writes nothing
                ),
            )
        except IllegalTransitionError as ended:  # the worker ended it between the two writes: as it is now
            return JobWrite(ended.job, changed=False)

    def refuse(self, ref: JobRef, refusal_reason: str) -> JobWrite:
        """queued -> refused, with the reason a user may read."""
        _require_text("refusal_reason", refusal_reason)
        return self._apply(
            ref,
            _Step(
                "refuse",
                sources=("queued",),
                writes={"status": "refused", "refusal_reason": refusal_reason},
                stamps=("finished_at",),
                applied=lambda job: job.status == "refused" and job.refusal_reason == refusal_reason,
            ),
        )

    def record_dispatch(self, ref: JobRef) -> JobWrite:
        """queued -> queued: the dispatch sweeper sent the job's message again; records ``dispatched_at`` and
        raises ``dispatch_count``, from which it knows when the next one is due. Not a repeat when applied twice:
        each call is one more message."""
        return self._apply(
            ref,
            _Step(
                "record_dispatch",
                sources=("queued",),
                writes={},
                stamps=("dispatched_at",),
                counts=("dispatch_count",),
                applied=lambda job: False,
            ),
        )

    # --- one conditional UpdateItem (succeed: in one transaction with the track's PutItem) -----------------

    def _apply(self, ref: JobRef, step: _Step, *, track: StoredTrack | None = None) -> JobWrite:
        """``SET writes, updated_at and stamps = now, version + 1`` on the condition that the status is one of
        the step's sources (and its extra condition), with ``track``'s item in the same transaction when given;
        on a failed condition, the stored item tells a repeat from a refusal.

        Time never goes backwards on a job: every write also requires the stored ``updated_at`` to be at most this
        writer's ``now``. Two writers racing on one job (a worker and the cancel route) each read their clock
        before writing, so the one that read first can land second; when the stored item shows the step could
        apply but carries a later ``updated_at``, the write is sent again at that time (a few times at most:
        each retry means yet another write landed in between)."""
        now = self._now()
        for _ in range(CLOCK_RETRIES):
            written, item = self._write(ref, step, now, track)
            if written:
                return JobWrite(self._job(item, ref), changed=True)
            if not item:
                raise UnknownJobError(f"no job {ref.job_id} for {ref.user_id} in {ref.organization_id}")
            job = self._job(item, ref)
            stored_at = to_utc_z(job.updated_at) if job.updated_at else now
            if job.status not in step.sources or stored_at <= now:  # not the clock: a repeat or a refusal
                if step.applied(job):
                    return JobWrite(job, changed=False)
                raise IllegalTransitionError(step.operation, job)
            now = stored_at
        raise StoreUnavailableError(f"{STORE}: job {ref.job_id} kept changing during the write")

    def _write(self, ref: JobRef, step: _Step, now: str, track: StoredTrack | None) -> tuple[bool, Mapping[str, Any]]:
        """One attempt of ``_apply`` at the time ``now``: (True, the job as written), or (False, the job as stored,
        empty if none) when the condition failed."""
        writes = {**step.writes} | dict.fromkeys(("updated_at", *step.stamps), now)
        for name, value in writes.items():
            _check_field(name, value)
        removals = []
        if "status" in writes:  # the job moves to its new status's partition of the list's status index
            writes["status_pk"] = status_key(ref.organization_id, ref.user_id, writes["status"])
            removals.append(DISPATCH_KEY)  # no step leads into queued: the job leaves the sweeper's index
            if writes["status"] == "running":  # into the index of running jobs, until it ends
                writes[RUNNING_KEY] = RUNNING
            else:
                removals.append(RUNNING_KEY)
        counts = ("version", *step.counts)
        names = {f"#{name}": name for name in [*writes, *removals, *counts, "status"]}
        names |= {f"#{name}": name for name in re.findall(r"#(\w+)", step.also or "")}
        values = to_item({f":{name}": value for name, value in writes.items()})
        values |= to_item({f":from_{status}": status for status in step.sources} | {":zero": 0, ":one": 1})
        values |= to_item(dict(step.also_values or {}))
        assignments = [f"#{name} = :{name}" for name in writes]
        assignments += [f"#{name} = if_not_exists(#{name}, :zero) + :one" for name in counts]
        update = "SET " + ", ".join(assignments)
        if removals:
            update += " REMOVE " + ", ".join(f"#{name}" for name in removals)
        condition = f"#status IN ({', '.join(f':from_{status}' for status in step.sources)})"
        if step.also:
            condition = f"{condition} AND {step.also}"
        condition += " AND (attribute_not_exists(#updated_at) OR #updated_at <= :updated_at)"
        request: UpdateTypeDef = {
            "TableName": self._table_name,
            "Key": job_key(ref.organization_id, ref.user_id, ref.job_id),
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if track is None:
            return self._conditional_write(
                lambda: self._client.update_item(**request, ReturnValues="ALL_NEW").get("Attributes", {})
            )
        return self._with_track_item(request, track_item(ref, track, now))

    def _with_track_item(self, update: "UpdateTypeDef", track: dict[str, Any]) -> tuple[bool, Mapping[str, Any]]:
        """The job's update and the track's new item as one transaction: (True, the job as written), or (False,
        the job as stored) when the job's condition failed. Neither is written unless both conditions hold."""
        with store_errors(STORE):
            try:
                self._client.transact_write_items(
                    TransactItems=[
                        {"Update": update},
                        {
                            "Put": {
                                "TableName": self._table_name,
                                "Item": track,
                                "ConditionExpression": "attribute_not_exists(pk)",
                                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                            }
                        },
                    ]
                )
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise
                job_reason, track_reason = (*exc.response.get("CancellationReasons", []), {}, {})[:2]
                if job_reason.get("Code") == "ConditionalCheckFailed":
                    stored = job_reason.get("Item")
                    return False, stored if isinstance(stored, Mapping) else {}
                if track_reason.get("Code") == "ConditionalCheckFailed":
                    raise TrackConflictError("another track already has this track's id") from None
                # TransactionConflict (another write on one of the items), throttling: worth a retry.
                raise StoreUnavailableError(f"{STORE} transaction cancelled") from exc
            # A succeeded job is terminal: read back, it is exactly what the transaction left.
            written = self._client.get_item(TableName=self._table_name, Key=update["Key"], ConsistentRead=True)
            return True, written.get("Item", {})

    def _conditional_write(self, write: Callable[[], Mapping[str, Any]]) -> tuple[bool, Mapping[str, Any]]:
        """(True, what the write returned), or (False, the item as stored, empty if none) when the condition
        failed."""
        with store_errors(STORE):
            try:
                return True, write()
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
                stored = exc.response.get("Item")
                return False, stored if isinstance(stored, Mapping) else {}

    def _job(self, item: Mapping[str, Any], ref: JobRef) -> LifecycleJob:
        return to_job(item, ref.organization_id, ref.user_id, ref.job_id, LifecycleJob)

    def _now(self) -> str:
        return to_utc_z(self._clock())


def track_item(ref: JobRef, track: StoredTrack, created_at: str) -> dict[str, Any]:
    """The track's own item (attribute-value form) under its owner's key, checked with the model the track's
    reader reads it with. A licence flag left unset is stored as the reading that claims least: no commercial
    use, attribution required."""
    values = track.model_dump(exclude_none=True) | {
        "commercial_use": bool(track.commercial_use),
        "requires_attribution": track.requires_attribution is not False,
        "organization_id": ref.organization_id,
        "user_id": ref.user_id,
        "job_id": ref.job_id,
        "created_at": created_at,
    }
    try:
        StoredTrackItem.model_validate(values)
    except ValidationError as exc:
        raise InvalidJobWriteError(f"track: {_first_problem(exc)}") from exc
    return track_key(ref.organization_id, ref.user_id, track.id) | to_item(values)


@per_container
def _field(name: str) -> TypeAdapter[Any]:
    """The reader's own definition of one attribute (type, bounds, pattern, stored-type guard)."""
    return TypeAdapter(LifecycleJob.model_fields[name].rebuild_annotation())


def _check_field(name: str, value: Any) -> None:
    try:
        _field(name).validate_python(value)
    except ValidationError as exc:
        raise InvalidJobWriteError(f"{name}: {_first_problem(exc)}") from exc


def _require_text(name: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidJobWriteError(f"{name} must be a non-empty text a user may read")


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    location = ".".join(map(str, error["loc"]))
    return f"{location}: {error['msg']}" if location else str(error["msg"])
