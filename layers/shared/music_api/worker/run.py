"""One queue message, one job: from ``queued`` to its end, through the job writer only.

The steps (docs/engines.md, "What the worker does"):

1. The message names a job (else it is poison: the batch reports it failed, and after the queue's receive count it
   rests in the dead-letter queue for an operator). A job that is not ``queued`` (a duplicate delivery, a job
   cancelled or ended meanwhile, a job another worker runs) is dropped: nothing is written. A ``running`` job with
   ``retry_pending`` is this message's own, left by a transient error: it is resumed.
2. The engine's catalogue item names its implementation (music_api.worker.registry); an engine that is gone or
   whose implementation this worker lacks fails the job.
3. The content policy (music_api.engines.policy): a rule that matches refuses the job with the rule's reason.
4. ``start`` (conditional on ``queued``: a concurrent duplicate loses and drops its message), then the engine,
   with progress and a cancel check lent to it (``JobProgress``: bounded writes, each a heartbeat).
5. The audio to S3 under the track's own keys, then ``succeed``; a cancel seen at any checkpoint ends the job
   ``cancelled`` with nothing left in S3.

Errors: ``PermanentEngineError`` fails the job with its user-safe message. ``TransientEngineError`` and anything
unexpected mark the job ``retry_pending`` and raise ``RetryLater``: the message returns to the queue after a
backoff, and its next delivery resumes the job; at the queue's last receive the job is failed instead, so the
dead-letter queue only ever holds messages that name no job (or whose worker died).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from botocore.exceptions import BotoCoreError, ClientError

from music_api.core.dynamodb import consistent_item
from music_api.core.observability import logger
from music_api.dispatch.queue import job_ref_of
from music_api.engines.models import StoredEngine
from music_api.engines.policy import ContentPolicy, refusal_for
from music_api.engines.store import EngineCatalogue
from music_api.jobs.models import StoredTrack
from music_api.jobs.store import job_key, to_job
from music_api.jobs.writer import (
    IllegalTransitionError,
    JobRef,
    JobWrite,
    JobWriter,
    LifecycleJob,
)
from music_api.worker.engine import (
    AudioFile,
    Engine,
    GeneratedTrack,
    GenerationCancelled,
    GenerationRequest,
    PermanentEngineError,
    TransientEngineError,
)
from music_api.worker.registry import UnknownImplementationError
from music_api.worker.settings import WorkerSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Outcome = Literal["succeeded", "failed", "cancelled", "refused", "dropped"]
UNAVAILABLE_ENGINE: Final = "This engine is not available; please submit the request with another engine."
UNEXPECTED: Final = "The generation could not be completed; please submit it again."
UNTITLED: Final = "Untitled"
MAX_RUNNING_PROGRESS: Final = 99


class RetryLater(Exception):  # noqa: N818 - a signal to the batch handler, not an error
    """The job waits for its message's next delivery, visible again after ``delay_seconds``."""

    def __init__(self, delay_seconds: int) -> None:
        super().__init__(f"retry in {delay_seconds} s")
        self.delay_seconds = delay_seconds


@dataclass(frozen=True)
class Delivery:
    """One SQS message as the worker sees it."""

    body: str
    receive_count: int


class AudioStore:
    """The track's files in the audio bucket; what was put can be taken back (a cancel, a failed succeed)."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def put(self, key: str, audio: AudioFile) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=audio.data, ContentType=audio.mime_type)

    def delete(self, keys: list[str]) -> None:
        """Best effort, one request per key (DeleteObjects needs Content-MD5 and its own action locally)."""
        for key in keys:
            try:
                self._s3.delete_object(Bucket=self._bucket, Key=key)
            except (BotoCoreError, ClientError):
                logger.exception("Audio of an ended job not deleted", extra={"key": key})


class JobProgress:
    """What the engine is lent: progress kept monotonic and written at most every ``interval`` seconds, a
    heartbeat when nothing was written for ``heartbeat`` seconds, and a cancel check that reads the job at most
    every ``interval`` seconds. Every write returns the job, whose ``cancel_requested`` counts as a read.

    A write that finds the job no longer running (the sweeper ended it after a long silence) makes every later
    ``cancel_requested`` true: the engine stops, and the worker writes nothing more (``lost``)."""

    def __init__(
        self,
        writer: JobWriter,
        read: Callable[[], LifecycleJob | None],
        job: LifecycleJob,
        settings: WorkerSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._writer = writer
        self._read = read
        self._ref = JobRef(job.organization_id, job.user_id, job.id)
        self._interval = settings.progress_write_seconds
        self._heartbeat = settings.heartbeat_seconds
        self._clock = clock
        self._written = job.progress
        self._wrote_at = self._checked_at = clock()
        self._cancel = False
        self.lost = False
        self.writes = 0

    def report(self, fraction: float) -> None:
        progress = min(MAX_RUNNING_PROGRESS, max(0, int(fraction * 100)))
        now = self._clock()
        if progress > self._written and now - self._wrote_at >= self._interval:
            self._write(lambda: self._writer.report_progress(self._ref, progress), now)
            self._written = max(self._written, progress)
        elif now - self._wrote_at >= self._heartbeat:
            self._write(lambda: self._writer.heartbeat(self._ref), now)

    def cancel_requested(self, *, now_or_never: bool = False) -> bool:
        """Whether a cancel was asked (or the job was taken from this worker); ``now_or_never`` reads at once."""
        now = self._clock()
        if not self._cancel and (now_or_never or now - self._checked_at >= self._interval):
            self._checked_at = now
            job = self._read()
            self._note(job)
        if not self._cancel and now - self._wrote_at >= self._heartbeat:
            self._write(lambda: self._writer.heartbeat(self._ref), now)
        return self._cancel

    def _write(self, write: Callable[[], JobWrite], now: float) -> None:
        self._wrote_at = self._checked_at = now
        try:
            written = write()
        except IllegalTransitionError as ended:
            self._note(ended.job)
            return
        self.writes += 1
        self._note(written.job)

    def _note(self, job: LifecycleJob | None) -> None:
        if job is None or job.status != "running":
            self.lost = True
            self._cancel = True
        elif job.cancel_requested:
            self._cancel = True


class JobRunner:
    def __init__(
        self,
        client: "DynamoDBClient",
        audio: AudioStore,
        settings: WorkerSettings,
        engines: Callable[[str], Engine],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._table = settings.jobs_table_name
        self._writer = JobWriter(client, self._table, audio_key_prefix=settings.audio_key_prefix)
        self._audio = audio
        self._settings = settings
        self._engines = engines
        self._clock = clock

    def run(self, delivery: Delivery) -> Outcome:
        """The job's next step; raises ``InvalidJobMessageError`` (poison) or ``RetryLater``."""
        ref = job_ref_of(delivery.body)
        logger.append_keys(job_id=ref.job_id)
        job = self._read(ref)
        if job is None or not (job.status == "queued" or (job.status == "running" and job.retry_pending)):
            logger.info("Generation message dropped", extra={"status": job.status if job else None})
            return "dropped"
        try:
            return self._run(ref, job, delivery)
        except RetryLater:
            raise
        except Exception:  # noqa: BLE001 - a bug or an outage: the job waits for the next delivery, or fails at the last
            logger.exception("Generation step failed unexpectedly")
            return self._retry(ref, delivery, UNEXPECTED)

    def _run(self, ref: JobRef, job: LifecycleJob, delivery: Delivery) -> Outcome:
        if job.status == "queued":  # judged once, before anything else: a refusal does not depend on the engine
            rule = refusal_for(ContentPolicy(self._client, self._table).rules(), request_texts(job))
            if rule is not None:
                logger.info("Generation refused by the content policy", extra={"rule": rule.id})
                return self._ended(lambda: self._writer.refuse(ref, rule.reason), "refused")
        catalogue = {engine.key: engine for engine in EngineCatalogue(self._client, self._table).all()}
        engine_item = catalogue.get(job.engine)
        try:
            engine = None if engine_item is None else self._engines(engine_item.implementation)
        except UnknownImplementationError:
            logger.exception("Generation engine cannot be loaded", extra={"engine": job.engine})
            engine = None
        if engine is None or engine_item is None:
            logger.error("Generation engine unavailable", extra={"engine": job.engine})
            return self._ended(lambda: self._writer.fail(ref, UNAVAILABLE_ENGINE), "failed")
        step = self._writer.start if job.status == "queued" else self._writer.resume
        if self._ended(lambda: step(ref), "moved") != "moved":
            return "dropped"  # a concurrent delivery started or resumed it, or it was cancelled meanwhile
        return self._generate(_Run(ref, job, engine_item, generation_request(job, engine_item), delivery), engine)

    def _generate(self, run: "_Run", engine: Engine) -> Outcome:
        ref = run.ref
        progress = JobProgress(self._writer, lambda: self._read(ref), run.job, self._settings, self._clock)
        started = self._clock()
        try:
            generated = engine.generate(run.request, progress)
        except GenerationCancelled:
            return self._unless_lost(progress, lambda: self._ended(lambda: self._writer.cancel(ref), "cancelled"))
        except PermanentEngineError as error:
            logger.warning("Generation failed in its engine", extra={"error": type(error).__name__})
            message = error.user_message
            return self._unless_lost(progress, lambda: self._ended(lambda: self._writer.fail(ref, message), "failed"))
        except TransientEngineError as error:
            logger.warning("Generation will be retried", extra={"error": type(error).__name__})
            message = error.user_message
            return self._unless_lost(progress, lambda: self._retry(ref, run.delivery, message))
        logger.info(
            "Generation made",
            extra={"seconds": round(self._clock() - started, 3), "progress_writes": progress.writes},
        )
        return self._deliver(run, progress, generated)

    def _deliver(self, run: "_Run", progress: JobProgress, generated: GeneratedTrack) -> Outcome:
        """The files up, then ``succeed``; a cancel seen before or while they went up leaves none behind."""
        ref = run.ref
        track, files = self._track(ref, run.job, run.engine, generated)
        uploaded: list[str] = []
        try:
            if not progress.cancel_requested(now_or_never=True):
                for key, audio in files.items():
                    self._audio.put(key, audio)
                    uploaded.append(key)
            if progress.cancel_requested(now_or_never=True):  # asked while the files went up: none stays
                self._audio.delete(uploaded)
                return self._unless_lost(progress, lambda: self._ended(lambda: self._writer.cancel(ref), "cancelled"))
            outcome = self._ended(lambda: self._writer.succeed(ref, track), "succeeded")
        except BaseException:
            self._audio.delete(uploaded)
            raise
        if outcome == "succeeded":
            return "succeeded"
        self._audio.delete(uploaded)  # the job ended otherwise meanwhile: no audio without its track
        return "dropped"

    @staticmethod
    def _unless_lost(progress: JobProgress, end: Callable[[], Outcome]) -> Outcome:
        """``end()``, unless the job was taken from this worker (the sweeper ended it): then nothing is written."""
        return "dropped" if progress.lost else end()

    def _track(
        self, ref: JobRef, job: LifecycleJob, engine: StoredEngine, generated: GeneratedTrack
    ) -> tuple[StoredTrack, dict[str, AudioFile]]:
        """The track and its files by key: the master at ``<prefix><org>/<track>.<ext>``, each stem below
        ``<prefix><org>/<track>/``. The track's id is the job's own suffix: a retry writes the same keys."""
        track_id = "mtrack_" + ref.job_id.removeprefix("mgen_")
        base = f"{self._settings.audio_key_prefix}{ref.organization_id}/{track_id}"
        master = generated.master
        files = {f"{base}.{master.extension}": master}
        # An engine the catalogue lists without stems delivers none, whatever its implementation made.
        made = generated.stems if engine.stems else {}
        stems = {name: (f"{base}/{name}.{stem.extension}", stem) for name, stem in made.items()}
        files |= dict(stems.values())
        request = job.request or {}
        track = StoredTrack(
            id=track_id,
            title=str(request.get("title") or UNTITLED),
            engine=job.engine,
            mode=job.mode,
            instrumental=request.get("instrumental") is True,
            measured_duration_seconds=round(master.duration_seconds, 3),
            mime_type=master.mime_type,
            licence_class=engine.licence_class,
            commercial_use=engine.commercial_use,
            requires_attribution=engine.requires_attribution,
            audio_key=f"{base}.{master.extension}",
            stems={name: key for name, (key, _) in stems.items()} or None,
        )
        return track, files

    def _retry(self, ref: JobRef, delivery: Delivery, user_message: str) -> Outcome:
        """Fail the job at the queue's last receive; else mark it for the next delivery and say when that is."""
        if delivery.receive_count >= self._settings.max_receive_count:
            return self._ended(lambda: self._writer.fail(ref, user_message), "failed")
        self._ended(lambda: self._writer.retry_later(ref), "retry")
        raise RetryLater(self._settings.retry_backoff_seconds * delivery.receive_count)

    def _ended[Step: str](self, write: Callable[[], JobWrite], outcome: Step) -> Step | Literal["dropped"]:
        """``outcome`` when the write was made, "dropped" when the job had moved on (a repeat or another state)."""
        try:
            written = write()
        except IllegalTransitionError as moved:
            logger.info("Generation job moved on meanwhile", extra={"status": moved.status})
            return "dropped"
        return outcome if written.changed else "dropped"

    def _read(self, ref: JobRef) -> LifecycleJob | None:
        item = consistent_item(
            self._client, self._table, job_key(ref.organization_id, ref.user_id, ref.job_id), "Job store"
        )
        return None if item is None else to_job(item, ref.organization_id, ref.user_id, ref.job_id, LifecycleJob)


@dataclass(frozen=True)
class _Run:
    """A started job's run: what ``_generate`` needs besides the engine."""

    ref: JobRef
    job: LifecycleJob
    engine: StoredEngine
    request: GenerationRequest
    delivery: Delivery


def request_texts(job: LifecycleJob) -> list[str]:
    """The words of the request the content policy judges: prompt, title, lyrics and style tags."""
    request = job.request or {}
    texts = [request.get("prompt"), request.get("title"), request.get("lyrics"), *(request.get("style_tags") or [])]
    return [str(text) for text in texts if text]


def generation_request(job: LifecycleJob, engine: StoredEngine) -> GenerationRequest:
    """The engine's view of the job's stored request (validated by create) and the catalogue's settings."""
    request = job.request or {}
    return GenerationRequest(
        job_id=job.id,
        engine=job.engine,
        prompt=str(request.get("prompt", "")),
        duration_seconds=int(request.get("duration_seconds", 1)),
        instrumental=request.get("instrumental") is True,
        mode=job.mode,
        title=request.get("title"),
        lyrics=request.get("lyrics"),
        style_tags=tuple(str(tag) for tag in request.get("style_tags") or ()),
        settings=dict(engine.settings),
    )
