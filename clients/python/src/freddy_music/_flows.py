"""How to create a job, wait for it and download its audio, as decisions without I/O.

Each flow is a generator: it yields a step (create or fetch the job, pause, save the audio) and is sent the step's
outcome, which is its result or the :class:`FreddyMusicError` it raised. The sync and the async client perform the
steps, so both follow exactly the same rules.
"""

import random
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

import httpx

from freddy_music._files import PartialFile
from freddy_music._http import retry_after_seconds
from freddy_music.errors import (
    APIConnectionError,
    APIError,
    DownloadError,
    FreddyMusicError,
    IdempotencyKeyInUseError,
    JobCancelledError,
    JobFailedError,
    JobRefusedError,
    RateLimitedError,
    ServiceUnavailableError,
    WaitTimeoutError,
)
from freddy_music.models import GenerationJob, JobStatus, MusicTrack, organization_of

DEFAULT_WAIT_TIMEOUT_SECONDS = 600.0
DEFAULT_POLL_INTERVAL_FLOOR_SECONDS = 1.0
# Retries of 429, 5xx and unreachable: 1 s, 2 s, 4 s, … up to 30 s, each between half and all of that (jitter),
# and never sooner than the answer's Retry-After.
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 30.0
# A request sent just before the deadline still gets this long to answer.
MIN_REQUEST_TIMEOUT_SECONDS = 0.05
# A playback URL this close to its expiry is treated as expired: the download would start too late.
URL_EXPIRY_MARGIN = timedelta(seconds=5)

# A create is tried this often in all before its last failure is raised.
MAX_CREATE_ATTEMPTS = 5

RETRYABLE = (RateLimitedError, ServiceUnavailableError, APIConnectionError)
# Safe for a POST only because every attempt carries the same idempotency key: an attempt whose answer was lost
# (or a 5xx after the job was written) is answered, when tried again, with the job the first attempt created.
# An in-use key means the first attempt is still being processed: its answer comes to the retry.
RETRYABLE_CREATE = (*RETRYABLE, IdempotencyKeyInUseError)


@dataclass(frozen=True)
class CreateJob:
    """POST ``body`` to the organization's generations with the ``Idempotency-Key`` header."""

    organization_id: str
    body: dict[str, Any]
    idempotency_key: str


@dataclass(frozen=True)
class FetchJob:
    organization_id: str
    job_id: str
    timeout: float | None  # seconds for this request; None: the client's own timeout


@dataclass(frozen=True)
class FetchTrack:
    """Fetch the track again (for fresh URLs); the outcome is the :class:`MusicTrack`."""

    organization_id: str
    track_id: str


@dataclass(frozen=True)
class FetchedJob:
    job: GenerationJob
    retry_after: float | None


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class SaveAudio:
    """Download ``url`` into ``audio`` (on success only); the outcome is the storage's HTTP status."""

    url: str
    audio: PartialFile


Step = CreateJob | FetchJob | FetchTrack | Pause | SaveAudio
Outcome = FetchedJob | MusicTrack | int | FreddyMusicError | None
T = TypeVar("T")
Signed = TypeVar("Signed", GenerationJob, MusicTrack)


class Flow(Generic[T]):
    """A flow, advanced one step at a time by a client."""

    def __init__(self, steps: Generator[Step, Outcome, T]) -> None:
        self._steps = steps
        self._result: tuple[T] | None = None

    def advance(self, outcome: Outcome) -> Step | None:
        """The next step, given the outcome of the last one (None at the start); None once the flow has ended.
        An error the flow does not handle is raised here."""
        try:
            return self._steps.send(outcome)
        except StopIteration as finished:
            self._result = (finished.value,)
            return None

    @property
    def result(self) -> T:
        if self._result is None:
            raise RuntimeError("the flow has not finished")
        return self._result[0]


def fetched_job(response: httpx.Response, body: object, organization_id: str) -> FetchedJob:
    return FetchedJob(GenerationJob.from_api(body, organization_id), retry_after_seconds(response.headers))


def wait_flow(  # noqa: PLR0913 - keyword-only, passed through from wait()
    organization_id: str,
    job_id: str,
    *,
    timeout: float,
    poll_interval_floor: float,
    on_update: Callable[[GenerationJob], object] | None,
    request_timeout: float,
    clock: Callable[[], float],
    rng: random.Random,
) -> Generator[Step, Outcome, GenerationJob]:
    """Poll until the job ends or ``timeout`` seconds have passed.

    The pause after an answer is its Retry-After, never less than ``poll_interval_floor``; after a 429, a 5xx or
    no answer, a jittered exponential backoff, never less than that answer's Retry-After. A pause that would end
    after the deadline is not taken: the wait ends at once with :class:`WaitTimeoutError`.
    """
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    if poll_interval_floor < 0:
        raise ValueError("poll_interval_floor must not be negative")
    deadline = clock() + timeout
    failures = 0
    last_job: GenerationJob | None = None
    last_seen: tuple[str, int] | None = None
    while True:
        remaining = deadline - clock()
        outcome = yield FetchJob(
            organization_id, job_id, timeout=max(min(request_timeout, remaining), MIN_REQUEST_TIMEOUT_SECONDS)
        )
        last_error: FreddyMusicError | None = None
        if isinstance(outcome, FetchedJob):
            failures = 0
            last_job = outcome.job
            if (last_job.status, last_job.progress) != last_seen:
                last_seen = (last_job.status, last_job.progress)
                if on_update is not None:
                    on_update(last_job)
            if ended(last_job):
                return last_job
            delay = max(poll_interval_floor, outcome.retry_after or 0.0)
        elif isinstance(outcome, RETRYABLE):
            failures += 1
            last_error = outcome
            delay = max(poll_interval_floor, retry_pause(outcome, failures, rng))
        else:
            raise unexpected(outcome)
        if clock() + delay > deadline:
            raise WaitTimeoutError(
                _timeout_message(job_id, timeout, last_job, last_error), timeout=timeout, last_job=last_job
            ) from last_error
        yield Pause(delay)


def ended(job: GenerationJob) -> bool:
    """True for a succeeded job, False while in flight; a typed error for the other ends."""
    match job.status:
        case JobStatus.SUCCEEDED:
            return True
        case JobStatus.FAILED:
            raise JobFailedError(job, f"job {job.id} failed: {job.error_message or 'no reason given'}")
        case JobStatus.CANCELLED:
            raise JobCancelledError(job, f"job {job.id} was cancelled")
        case JobStatus.REFUSED:
            raise JobRefusedError(job, f"job {job.id} was refused: {job.refusal_reason or 'no reason given'}")
    return False


def create_flow(
    organization_id: str, body: dict[str, Any], *, idempotency_key: str, rng: random.Random
) -> Generator[Step, Outcome, GenerationJob]:
    """Create the job: the same request, with the same key, until it is answered or has failed
    ``MAX_CREATE_ATTEMPTS`` times. 429, 5xx, no answer and a key still in use are retried after the backoff (never
    sooner than the answer's Retry-After); any other error, a reused key among them, is raised at once."""
    failures = 0
    while True:
        outcome = yield CreateJob(organization_id, body, idempotency_key)
        if isinstance(outcome, FetchedJob):
            return outcome.job
        failures += 1
        if not isinstance(outcome, RETRYABLE_CREATE) or failures >= MAX_CREATE_ATTEMPTS:
            raise unexpected(outcome)
        yield Pause(retry_pause(outcome, failures, rng))


def retry_pause(error: FreddyMusicError, failures: int, rng: random.Random) -> float:
    """The pause before trying again after ``failures`` failures in a row, the last being ``error``: the
    backoff, and never sooner than the answer's Retry-After."""
    server_hint = error.retry_after if isinstance(error, APIError) else None
    return max(backoff_seconds(failures, rng), server_hint or 0.0)


def backoff_seconds(failures: int, rng: random.Random) -> float:
    """The pause after ``failures`` failed attempts in a row: exponential, capped, with 'equal jitter'."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2.0 ** (failures - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def _timeout_message(
    job_id: str, timeout: float, last_job: GenerationJob | None, last_error: FreddyMusicError | None
) -> str:
    message = f"job {job_id} did not end within {timeout:g} s"
    if last_job is not None:
        message += f"; last seen {last_job.status} at {last_job.progress}%"
    if last_error is not None:
        message += f"; last attempt: {last_error}"
    return message


def download_flow(
    job: GenerationJob, audio: PartialFile, *, now: Callable[[], datetime]
) -> Generator[Step, Outcome, GenerationJob]:
    """Save the job's audio into ``audio``. An expired URL (by ``playback_url_expires_at``, or a 403 from the
    storage) is replaced once by fetching the job again. Returns the job whose URL worked."""
    return (
        yield from _signed_download(
            job,
            audio,
            now=now,
            url_of=lambda job: job.playback_url,
            fetch_again=_fetch_again,
            no_url=lambda job: f"job {job.id} has no playback URL (status {job.status})",
            label=f"job {job.id}",
        )
    )


def track_download_flow(
    track: MusicTrack, audio: PartialFile, *, stem: str | None, now: Callable[[], datetime]
) -> Generator[Step, Outcome, MusicTrack]:
    """Save the track's master (or the stem named ``stem``) into ``audio``, with the same rules as a job's
    download: an expired URL is replaced once by fetching the track again. Returns the track whose URL worked."""
    return (
        yield from _signed_download(
            track,
            audio,
            now=now,
            url_of=lambda track: track.playback_url if stem is None else track.stem_urls.get(stem),
            fetch_again=_fetch_track_again,
            no_url=lambda track: (
                f"track {track.id} has no stem {stem!r} (it has: {', '.join(track.stem_urls) or 'none'})"
            ),
            label=f"track {track.id}" if stem is None else f"stem {stem} of track {track.id}",
        )
    )


def _signed_download(  # noqa: PLR0913 - keyword-only, what differs between a job's audio and a track's
    item: Signed,
    audio: PartialFile,
    *,
    now: Callable[[], datetime],
    url_of: Callable[[Signed], str | None],
    fetch_again: Callable[[Signed], Generator[Step, Outcome, Signed]],
    no_url: Callable[[Signed], str],
    label: str,
) -> Generator[Step, Outcome, Signed]:
    refreshed = False
    if item.playback_url_expires_at is not None and item.playback_url_expires_at - URL_EXPIRY_MARGIN <= now():
        item = yield from fetch_again(item)
        refreshed = True
    while True:
        url = url_of(item)
        if url is None:
            raise DownloadError(no_url(item))
        status = yield SaveAudio(url, audio)
        if not isinstance(status, int):
            raise unexpected(status)
        if 200 <= status < 300:
            return item
        if status == 403 and not refreshed:
            item = yield from fetch_again(item)
            refreshed = True
            continue
        raise DownloadError(f"the storage answered HTTP {status} for the audio of {label}", status=status)


def _fetch_again(job: GenerationJob) -> Generator[Step, Outcome, GenerationJob]:
    organization_id = organization_of(job)
    if organization_id is None:
        raise DownloadError(
            f"the playback URL of job {job.id} has expired, and the job was not read through a client, "
            "so it cannot be fetched again for a new one"
        )
    outcome = yield FetchJob(organization_id, job.id, timeout=None)
    if not isinstance(outcome, FetchedJob):
        raise unexpected(outcome)
    return outcome.job


def _fetch_track_again(track: MusicTrack) -> Generator[Step, Outcome, MusicTrack]:
    organization_id = organization_of(track)
    if organization_id is None:
        raise DownloadError(
            f"the URLs of track {track.id} have expired, and the track was not read through a client, "
            "so it cannot be fetched again for new ones"
        )
    outcome = yield FetchTrack(organization_id, track.id)
    if not isinstance(outcome, MusicTrack):
        raise unexpected(outcome)
    return outcome


def unexpected(outcome: Outcome) -> Exception:
    """What a flow raises for an outcome it does not handle: the error itself, or a bug report."""
    if isinstance(outcome, FreddyMusicError):
        return outcome
    return TypeError(f"unexpected outcome {outcome!r}")
