"""The local generation simulator: a worker inside ``make run`` that moves simulated jobs through their lifecycle on
a clock, through the job writer, as a generation worker would.

A simulated job is an ordinary job item whose ``request`` carries a ``simulate`` map (``Simulation``): the plan
(queued for Q seconds, running for R, then the outcome), when it was submitted, and what the outcome needs (the
track, the error message or the refusal reason). Fixture files (``"simulate"`` on a ``generations`` entry) and
``python -m music_local.submit`` write such items; the simulator finds them by scanning the table, every
``interval`` seconds while simulated jobs are in flight and otherwise every ``idle_interval`` seconds at most, and
in the local stack only once its moto server has answered a write since (an idle stack's moto would spend a tenth
of a core on the scans), so a job submitted while the stack runs is picked up like one loaded at start-up, within
a second.

Timeline, in seconds after submission: before Q queued; at Q running (``refused``: refused at Q instead), with
progress rising from 1 to 99 over R; at Q+R the outcome (``cancelled``: at Q+R/2, progress left where it was).
A job flagged ``cancel_requested`` (the cancel endpoint) is cancelled at the next tick, its progress frozen.
Each step is derived from the clock alone and the writer ignores repeats, so a late or repeated tick is harmless.

Jobs created through the API (POST /generations) are run by the template's GenerationWorkerFunction, which the
local stack invokes with its queue's messages (music_local.queues), except those whose prompt holds
``[simulate:failed]`` or ``[simulate:refused]``: before the worker sees such a message, ``claim`` takes it (local
only: nothing deployed reads the directive), and the job is planned from that moment: running at once for
``CREATED_RUNNING_SECONDS``, then ``failed``; or ``refused`` at once. A claimed message is deleted at once.
"""

import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, Self

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from music_api.core.dynamodb import error_code, from_item, to_item
from music_api.core.errors import ApiError
from music_api.dispatch.queue import InvalidJobMessageError, job_ref_of
from music_api.engines.store import EngineCatalogue
from music_api.jobs.models import JobStatus, StoredTrack
from music_api.jobs.store import job_key, to_job
from music_api.jobs.writer import JobRef, JobWrite, JobWriteError, JobWriter, LifecycleJob, NewJob

if TYPE_CHECKING:
    from music_local.emulator import ItemWrites, LocalAws

Outcome = Literal["succeeded", "failed", "cancelled", "refused"]
MAX_SECONDS = 3600
SUBMITTED_QUEUED_SECONDS = 1
SUBMITTED_ENGINE = "studio"
SUBMITTED_ERROR_MESSAGE = "The simulated engine could not finish this track. Please retry."
SUBMITTED_REFUSAL_REASON = "The simulated engine refused this request."
# What a submitted job's success plays: the demo MP3, under the track's own key.
DEMO_AUDIO = Path(__file__).resolve().parents[1] / "audio" / "late-night-study.mp3"
DEMO_AUDIO_SECONDS = 119.4
# A job created through the API with a directive: how long it runs once claimed (long enough for a client polling at
# GET's running Retry-After of 2 s to see its progress rise).
CREATED_RUNNING_SECONDS: Final = 10.0
# The prompt directive only this simulator honours: how a created job should end instead of succeeding.
DIRECTIVE: Final = re.compile(r"\[simulate:(failed|refused)\]")
# An idle simulator told of every write (``writes``) looks again now and then anyway, should a job ever reach the
# table another way.
IDLE_SECONDS_WITH_WRITES: Final = 5.0
IN_FLIGHT: Final[frozenset[JobStatus]] = frozenset({"queued", "running"})
_PLAN = ConfigDict(extra="forbid", frozen=True)


class SimulationPlan(BaseModel):
    """The ``simulate`` entry of a fixture: how long the job waits, how long it runs, how it ends."""

    model_config = _PLAN

    queued_seconds: Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]
    running_seconds: Annotated[float, Field(gt=0, le=MAX_SECONDS, allow_inf_nan=False)]
    outcome: Outcome


class Simulation(SimulationPlan):
    """What a simulated job's ``request.simulate`` holds: the plan, when it started, what its outcome needs."""

    since: Annotated[float, Field(gt=0, allow_inf_nan=False)]  # epoch seconds at submission
    track: StoredTrack | None = None
    error_message: Annotated[str | None, Field(min_length=1, max_length=1000)] = None
    refusal_reason: Annotated[str | None, Field(min_length=1, max_length=1000)] = None

    @model_validator(mode="after")
    def _the_outcome_has_what_it_needs(self) -> Self:
        needs = {"succeeded": "track", "failed": "error_message", "refused": "refusal_reason"}.get(self.outcome)
        if needs is not None and getattr(self, needs) is None:
            raise ValueError(f"outcome {self.outcome} needs {needs}")
        return self

    def target(self, elapsed: float) -> tuple[JobStatus, int]:
        """Where the job should be ``elapsed`` seconds after submission: its status, and its progress if running."""
        if elapsed < self.queued_seconds:
            return "queued", 0
        if self.outcome == "refused":
            return "refused", 0
        running = elapsed - self.queued_seconds
        ends_after = self.running_seconds / 2 if self.outcome == "cancelled" else self.running_seconds
        if running >= ends_after:
            return self.outcome, 0
        return "running", min(99, 1 + int(98 * running / self.running_seconds))


def new_id(prefix: str) -> str:
    """``mgen_``/``mtrack_`` + 16 random hex digits: within the id formats, never repeated in practice."""
    return f"{prefix}{secrets.token_hex(8)}"


def submit(writer: JobWriter, job: NewJob, simulation: Simulation) -> JobWrite:
    """Create the job, queued, carrying its simulation for the simulator to find."""
    return writer.create(job, request={"simulate": simulation.model_dump(mode="json")})


def submission(ref: JobRef, *, title: str, outcome: Outcome, running_seconds: float) -> tuple[NewJob, Simulation]:
    """A job as ``python -m music_local.submit`` makes it: queued for a second, then running for ``running_seconds``
    towards ``outcome``. A success plays the demo MP3 (which the simulator uploads under the track's own key)."""
    track_id = new_id("mtrack_")
    simulation = Simulation(
        queued_seconds=SUBMITTED_QUEUED_SECONDS,
        running_seconds=running_seconds,
        outcome=outcome,
        since=time.time(),
        track=StoredTrack(
            id=track_id,
            title=title,
            engine=SUBMITTED_ENGINE,
            mode="creation",
            instrumental=True,
            measured_duration_seconds=DEMO_AUDIO_SECONDS,
            mime_type="audio/mpeg",
            licence_class="personal_only",
            audio_key=f"audio/{ref.organization_id}/{track_id}.mp3",
        )
        if outcome == "succeeded"
        else None,
        error_message=SUBMITTED_ERROR_MESSAGE if outcome == "failed" else None,
        refusal_reason=SUBMITTED_REFUSAL_REASON if outcome == "refused" else None,
    )
    return NewJob(ref, SUBMITTED_ENGINE, "creation"), simulation


def directed_plan(job: LifecycleJob, *, since: float) -> Simulation | None:
    """How a created job whose prompt holds a directive ends here, planned from ``since``; ``None`` without one."""
    directive = DIRECTIVE.search(str((job.request or {}).get("prompt", "")))
    if directive is None:
        return None
    outcome: Outcome = "failed" if directive.group(1) == "failed" else "refused"
    return Simulation(
        queued_seconds=0,
        running_seconds=CREATED_RUNNING_SECONDS,
        outcome=outcome,
        since=since,
        error_message=SUBMITTED_ERROR_MESSAGE if outcome == "failed" else None,
        refusal_reason=SUBMITTED_REFUSAL_REASON if outcome == "refused" else None,
    )


class Simulator:
    """A background thread: every ``interval`` seconds, each simulated job still in flight (the fixtures', the
    submitted and the claimed ones) is moved to where its clock says it should be. ``start``, ``stop`` (which waits
    for the current tick) and ``claim`` (the local queue consumer's hook) are the only controls."""

    def __init__(  # noqa: PLR0913 - options by keyword, each with its default
        self,
        aws: "LocalAws",
        *,
        audio: bytes,
        interval: float = 0.2,
        idle_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
        writes: "ItemWrites | None" = None,
    ) -> None:
        """With ``writes`` (the stack's own moto server), an idle simulator looks again after a write the server
        answers (a new job, say) rather than every ``idle_interval``."""
        self._aws = aws
        self._writes = writes
        self._writer = JobWriter(aws.dynamodb, aws.jobs_table)
        self._audio = audio
        self._interval = interval
        self._idle_interval = idle_interval
        self._clock = clock
        self._claimed: dict[JobRef, Simulation] = {}
        self._claimed_lock = threading.Lock()  # claim runs on the queue consumer's thread, tick on this one
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="generation-simulator", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._writes is not None:
            self._writes.bump()  # an idle simulator waiting on it sees that it is stopping
        if self._thread.is_alive():
            self._thread.join()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def tick(self) -> bool:
        """One pass over the simulated jobs still queued or running: the fixtures' and submitted ones, and the
        claimed ones (once the ended are let go). Whether any was in flight."""
        in_flight = [(job, simulation, self._audio) for job, simulation in self._jobs_in_flight()]
        in_flight += [(job, simulation, b"") for job, simulation in self._claimed_in_flight()]
        for job, simulation, audio in in_flight:
            try:
                self._advance(job, simulation, audio)
            except JobWriteError as error:  # someone else moved the job meanwhile: it is theirs now
                print(f"simulator: {job.id} left alone ({error})", file=sys.stderr, flush=True)
        return bool(in_flight)

    # --- the generation queue's directed jobs ---------------------------------------------------------------

    def claim(self, body: str) -> bool:
        """Whether this simulator takes the message (its job is queued and its prompt holds a directive); the
        generation worker gets every other one, a message that names no job included."""
        try:
            ref = job_ref_of(body)
        except InvalidJobMessageError:
            return False
        job = self._job(ref)
        if job is None or job.status != "queued":
            return False
        simulation = directed_plan(job, since=self._clock())
        if simulation is None:
            return False
        with self._claimed_lock:
            self._claimed[ref] = simulation
        if self._writes is not None:
            self._writes.bump()  # an idle simulator waiting on it starts the job now
        print(f"simulator: {job.id} claimed, to end {simulation.outcome}", flush=True)
        return True

    def _claimed_in_flight(self) -> Iterator[tuple[LifecycleJob, Simulation]]:
        with self._claimed_lock:
            claimed = list(self._claimed.items())
        for ref, simulation in claimed:
            job = self._job(ref)
            if job is not None and job.status in IN_FLIGHT:
                yield job, simulation
                continue
            with self._claimed_lock:
                del self._claimed[ref]

    def _job(self, ref: JobRef) -> LifecycleJob | None:
        item = self._aws.dynamodb.get_item(
            TableName=self._aws.jobs_table,
            Key=job_key(ref.organization_id, ref.user_id, ref.job_id),
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else to_job(item, ref.organization_id, ref.user_id, ref.job_id, LifecycleJob)

    def _run(self) -> None:
        busy, last_tick, seen = True, 0.0, -1
        while not self._stopping.wait(self._interval):
            now = time.monotonic()
            with self._claimed_lock:
                claimed = bool(self._claimed)
            if not (busy or claimed):
                if now - last_tick < self._idle_interval:
                    continue
                if self._writes is not None:  # and past that, only once a write (or a claim) was answered
                    seen = self._writes.wait(seen, IDLE_SECONDS_WITH_WRITES)
            last_tick = time.monotonic()
            try:
                busy = self.tick()
            except (ApiError, BotoCoreError, ClientError) as error:  # the emulator is busy or stopping: next tick
                print(f"simulator: tick skipped ({type(error).__name__})", file=sys.stderr, flush=True)

    def _jobs_in_flight(self) -> Iterator[tuple[LifecycleJob, Simulation]]:
        arguments: dict[str, Any] = {
            "TableName": self._aws.jobs_table,
            "ConsistentRead": True,
            "FilterExpression": "attribute_exists(#request.#simulate) AND #status IN (:queued, :running)",
            "ExpressionAttributeNames": {"#request": "request", "#simulate": "simulate", "#status": "status"},
            "ExpressionAttributeValues": to_item({":queued": "queued", ":running": "running"}),
        }
        while True:
            page = self._aws.dynamodb.scan(**arguments)
            for item in page.get("Items", []):
                try:
                    job = LifecycleJob.model_validate(from_item(item))
                    simulation = Simulation.model_validate((job.request or {}).get("simulate"))
                except ValidationError:
                    continue  # not something this simulator wrote: leave it be
                yield job, simulation
            if "LastEvaluatedKey" not in page:
                return
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _advance(self, job: LifecycleJob, simulation: Simulation, audio: bytes) -> None:
        status, progress = simulation.target(self._clock() - simulation.since)
        ref = JobRef(job.organization_id, job.user_id, job.id)
        if status == "queued":
            return
        if status == "refused":
            self._announce(job, self._writer.refuse(ref, simulation.refusal_reason or ""))
            return
        if job.status == "queued":  # also when a tick came too late for the whole run: start, then end it
            job = self._announce(job, self._writer.start(ref))
        if job.cancel_requested:  # the checkpoint: a cancel asked through the API ends it here, progress as is
            self._announce(job, self._writer.cancel(ref))
            return
        if status == "running":
            self._writer.report_progress(ref, progress)
        elif status == "succeeded" and simulation.track is not None:
            track = self._with_engine_licence(simulation.track)
            self._make_sure_the_audio_exists(track, audio)
            self._announce(job, self._writer.succeed(ref, track))
        elif status == "failed":
            self._announce(job, self._writer.fail(ref, simulation.error_message or ""))
        elif status == "cancelled":
            self._announce(job, self._writer.cancel(ref))

    def _with_engine_licence(self, track: StoredTrack) -> StoredTrack:
        """As a worker does: a track that does not state its licence gets its engine's (class and flags) from the
        catalogue. An engine the catalogue no longer has leaves it unstated: the writer stores the reading that
        claims least."""
        if track.commercial_use is not None or track.requires_attribution is not None:
            return track
        engines = {engine.key: engine for engine in EngineCatalogue(self._aws.dynamodb, self._aws.jobs_table).all()}
        engine = engines.get(track.engine)
        if engine is None:
            return track
        return track.model_copy(
            update=engine.model_dump(include={"licence_class", "commercial_use", "requires_attribution"})
        )

    def _make_sure_the_audio_exists(self, track: StoredTrack, audio: bytes) -> None:
        """A fixture's track (and its stems) was uploaded at load; a submitted job's audio is the demo MP3, under
        the track's own keys."""
        s3 = self._aws.s3
        for audio_key in (track.audio_key, *(track.stems or {}).values()):
            try:
                s3.head_object(Bucket=self._aws.bucket, Key=audio_key)
            except ClientError as error:
                if error_code(error) not in {"404", "NoSuchKey"}:
                    raise
                s3.put_object(Bucket=self._aws.bucket, Key=audio_key, Body=audio, ContentType=track.mime_type)

    def _announce(self, before: LifecycleJob, written: JobWrite) -> LifecycleJob:
        if written.changed:
            print(f"simulator: {before.id} {before.status} -> {written.job.status}", flush=True)
        return written.job
