"""The dispatch sweeper: no job stays ``queued`` forever because its message was lost.

Create sends one message per job right after writing it; a send can fail, a message can be lost to a bug or
land in the dead-letter queue, and a worker can drop one. Every minute the sweeper reads the jobs still queued
past the grace from the sparse index ``jobs_awaiting_dispatch`` (oldest first) and, for each:

- queued longer than the maximum wait since creation: ``fail_unscheduled`` with ``UNSCHEDULED_MESSAGE`` (a user
  may read it);
- else, when its next message is due: sends it again and records that (``record_dispatch``). The first re-send is
  due ``grace`` after creation, each next one after twice the previous interval (grace x 2^count since the last),
  so a queue that is merely slow gets a few duplicates per job, not one a minute.

Duplicates are harmless: a worker's ``start`` is a conditional write on ``queued`` (a repeat or a finished job
writes nothing). Every write is conditional on ``queued`` too, so a job a worker started meanwhile is left alone.
"""

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Final, Self

from pydantic import BaseModel, Field, ValidationError, model_validator

from music_api.core.clock import to_utc_z, utc_now
from music_api.core.dynamodb import from_item, store_errors, to_item
from music_api.core.observability import logger
from music_api.core.stored import STORED_ITEM, StoredNumber, StoredTimestamp
from music_api.dispatch.queue import GenerationQueue
from music_api.dispatch.settings import SweeperSettings
from music_api.jobs.store import (
    AWAITING_DISPATCH,
    DISPATCH_KEY,
    JOBS_AWAITING_DISPATCH_INDEX,
    JOBS_RUNNING_INDEX,
    RUNNING,
    RUNNING_KEY,
)
from music_api.jobs.writer import JobRef, JobWrite, JobWriteError, JobWriter

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

UNSCHEDULED_MESSAGE: Final = "The job could not be scheduled; please submit it again."
STALE_MESSAGE: Final = "The generation stopped unexpectedly; please submit it again."
QUERY_PAGE: Final = 100


class IndexedJob(BaseModel):
    """A job as one of the sweeper's indexes projects it: its key, at least."""

    model_config = STORED_ITEM

    id: str
    organization_id: str
    user_id: str

    @model_validator(mode="after")
    def _its_key_is_well_formed(self) -> Self:
        self.ref  # noqa: B018 - JobRef refuses a malformed id (InvalidJobWriteError)
        return self

    @property
    def ref(self) -> JobRef:
        return JobRef(self.organization_id, self.user_id, self.id)


class AwaitingJob(IndexedJob):
    """A queued job as the index projects it."""

    created_at: StoredTimestamp
    dispatched_at: StoredTimestamp | None = None
    dispatch_count: Annotated[int, StoredNumber, Field(ge=0)] = 0

    def next_dispatch(self, grace: timedelta) -> datetime:
        """When its next message is due: grace after creation, then each interval twice the one before."""
        return (self.dispatched_at or self.created_at) + grace * (1 << self.dispatch_count)


class RunningJob(IndexedJob):
    """A running job as the index of running jobs projects it."""

    heartbeat_at: str  # as stored: fail_stale's condition compares it as it is


@dataclass(frozen=True)
class _Index:
    """A sparse index of the jobs table: its name, the one partition every item shares, its sort key."""

    name: str
    partition: tuple[str, str]  # attribute, value
    sort_key: str


AWAITING: Final = _Index(JOBS_AWAITING_DISPATCH_INDEX, (DISPATCH_KEY, AWAITING_DISPATCH), "created_key")
SILENT: Final = _Index(JOBS_RUNNING_INDEX, (RUNNING_KEY, RUNNING), "heartbeat_at")


class _SparseIndex:
    """One of the sweeper's sparse indexes: one Query per page, lowest sort key first."""

    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def _below[Job: IndexedJob](self, index: _Index, before: str, model: type[Job], limit: int) -> Iterator[Job]:
        """The items whose sort key is below ``before``, lowest first, each read as ``model``."""
        arguments: dict[str, Any] = {
            "TableName": self._table_name,
            "IndexName": index.name,
            "KeyConditionExpression": "#partition = :partition AND #sort < :before",
            "ExpressionAttributeNames": {"#partition": index.partition[0], "#sort": index.sort_key},
            "ExpressionAttributeValues": to_item({":partition": index.partition[1], ":before": before}),
            "ScanIndexForward": True,
        }
        read = 0
        while read < limit:
            arguments["Limit"] = min(limit - read, QUERY_PAGE)
            with store_errors("Job store"):
                page = self._client.query(**arguments)
            for item in page.get("Items", []):
                read += 1
                try:
                    job = model.model_validate(from_item(item))
                except (ValidationError, JobWriteError):  # a bad item is GET's 500 to deal with, not every sweep's end
                    sk = item.get("sk", {}).get("S")
                    logger.error("Job in the sweeper's index is invalid", extra={"index": index.name, "sk": sk})
                    continue
                yield job
            if "LastEvaluatedKey" not in page:
                return
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class AwaitingDispatch(_SparseIndex):
    """The sparse index of queued jobs, oldest first."""

    def created_by(self, moment: datetime, limit: int) -> Iterator[AwaitingJob]:
        """The queued jobs created at ``moment`` or before (``created_at`` has whole seconds), oldest first."""
        return self._below(AWAITING, to_utc_z(moment + timedelta(seconds=1)), AwaitingJob, limit)


class RunningJobs(_SparseIndex):
    """The sparse index of running jobs, longest silent first."""

    def silent_since(self, moment: datetime, limit: int) -> Iterator[RunningJob]:
        """The running jobs whose last heartbeat is before ``moment``."""
        return self._below(SILENT, to_utc_z(moment), RunningJob, limit)


@dataclass
class SweepResult:
    redispatched: int = 0  # jobs whose message was sent again
    unscheduled: int = 0  # jobs failed: no worker started them within the maximum wait
    failed_sends: int = 0  # messages that could not be sent (the next sweep tries again)
    moved_on: int = 0  # jobs that left queued meanwhile (a worker or a cancel got there first)
    stale: int = 0  # running jobs failed: their worker stopped beating for the lease
    kept: int = 0  # running jobs whose worker beat (or ended them) between the index's read and the write

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class SweepPolicy:
    grace: timedelta  # queued this long since its last message: send another (the interval doubles each time)
    max_wait: timedelta  # queued this long since creation: failed
    max_jobs: int  # read at most this many jobs per sweep (of each index), oldest first
    lease: timedelta = timedelta(seconds=360)  # running without a heartbeat this long: failed

    @classmethod
    def of(cls, settings: SweeperSettings) -> "SweepPolicy":
        return cls(
            timedelta(seconds=settings.grace_seconds),
            timedelta(seconds=settings.max_wait_seconds),
            settings.max_jobs_per_sweep,
            timedelta(seconds=settings.running_lease_seconds),
        )


class Sweeper:
    def __init__(
        self,
        indexes: tuple[AwaitingDispatch, RunningJobs],
        writer: JobWriter,
        queue: GenerationQueue,
        policy: SweepPolicy,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._awaiting, self._running = indexes
        self._writer = writer
        self._queue = queue
        self._policy = policy
        self._clock = clock

    def sweep(self) -> SweepResult:
        now = self._clock()
        policy = self._policy
        result = SweepResult()
        due: list[JobRef] = []
        for job in self._awaiting.created_by(now - policy.grace, policy.max_jobs):
            if now - job.created_at >= policy.max_wait:
                if self._still_queued(result, self._writer.fail_unscheduled, job.ref, UNSCHEDULED_MESSAGE):
                    result.unscheduled += 1
                    logger.warning("Generation job never started: failed", extra={"job_id": job.id})
            elif job.next_dispatch(policy.grace) <= now:
                due.append(job.ref)
        sent, failures = self._queue.send_all(due)
        result.failed_sends = len(failures)
        if failures:
            logger.warning("Generation jobs not re-sent", extra={"reasons": sorted(set(failures))})
        for ref in sent:
            if self._still_queued(result, self._writer.record_dispatch, ref):
                result.redispatched += 1
        self._end_the_silent(now, result)
        return result

    def _end_the_silent(self, now: datetime, result: SweepResult) -> None:
        """Fail every running job whose heartbeat is older than the lease, unless its worker beat meanwhile."""
        for job in self._running.silent_since(now - self._policy.lease, self._policy.max_jobs):
            try:
                self._writer.fail_stale(job.ref, job.heartbeat_at, STALE_MESSAGE)
            except JobWriteError:  # it beat, or ended, since the index was read: its worker is alive
                result.kept += 1
                continue
            result.stale += 1
            logger.warning("Generation job stopped beating: failed", extra={"job_id": job.id})

    @staticmethod
    def _still_queued(result: SweepResult, operation: Callable[..., JobWrite], *arguments: Any) -> bool:
        """Whether the writer's operation found the job queued; else it has moved on, and is counted so."""
        try:
            operation(*arguments)
        except JobWriteError:  # no longer queued (the index lags the table): a worker or a cancel has it
            result.moved_on += 1
            return False
        return True
