"""How to call the API, wait for a job and download its audio, as decisions without I/O.

Each flow is a generator: it yields a step (send a request, pause, save the audio, tell the caller) and is sent the
step's outcome, which is its result or the :class:`FreddyMusicError` it raised. The sync and the async client
perform the steps, so both follow exactly the same rules.
"""

import random
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

import httpx

from freddy_music._files import PartialFile
from freddy_music._http import IDEMPOTENCY_KEY_HEADER, generations_path, job_path, retry_after_seconds, track_path
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
# A request is tried again at most this often after it failed in a way worth retrying.
DEFAULT_MAX_RETRIES = 4
# The pause after the n-th failure in a row: between half and all of min(30 s, start * 2^(n-1)) ("equal jitter"),
# where start is 1 s, or twice the answer's Retry-After when it has one, so the first retry after a 429 with
# `Retry-After: h` comes between h and 2h, the next between 2h and 4h, and so on; never sooner than h. A static
# `Retry-After: 1` on a budget that refills every 10 s thus spreads five attempts over at least 15 s.
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 30.0
# A request sent just before the deadline still gets this long to answer.
MIN_REQUEST_TIMEOUT_SECONDS = 0.05
# A signed URL this close to its expiry is renewed before it is used: a download that starts within this margin of
# the expiry could reach the storage after it (latency, the storage's clock and ours differing by a second or two).
URL_EXPIRY_MARGIN = timedelta(seconds=5)

RETRYABLE = (RateLimitedError, ServiceUnavailableError, APIConnectionError)
# Safe for a POST only because every attempt carries the same idempotency key: an attempt whose answer was lost
# (or a 5xx after the job was written) is answered, when tried again, with the job the first attempt created.
# An in-use key means the first attempt is still being processed: its answer comes to the retry.
RETRYABLE_WITH_KEY = (*RETRYABLE, IdempotencyKeyInUseError)


@dataclass(frozen=True)
class Send:
    """Send a request to the API; the outcome is :class:`Answered`, or the error the answer means."""

    method: str
    path: str
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None  # seconds for this request; None: the client's own timeout


@dataclass(frozen=True)
class Answered:
    response: httpx.Response
    body: Any  # the decoded JSON


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class SaveAudio:
    """Download ``url`` into ``audio`` (on success only); the outcome is the storage's HTTP status."""

    url: str
    audio: PartialFile


@dataclass(frozen=True)
class Notify:
    """Call ``callback(job)`` (awaiting what it returns, on the async client); the outcome is None."""

    callback: Callable[[GenerationJob], object]
    job: GenerationJob


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int
    rng: random.Random


Step = Send | Pause | SaveAudio | Notify
Outcome = Answered | int | FreddyMusicError | None
T = TypeVar("T")
Signed = TypeVar("Signed", GenerationJob, MusicTrack)
Steps = Generator[Step, Outcome, T]


class Flow(Generic[T]):
    """A flow, advanced one step at a time by a client."""

    def __init__(self, steps: Steps[T]) -> None:
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


def request_flow(
    send: Send, *, policy: RetryPolicy, retryable: tuple[type[FreddyMusicError], ...] = RETRYABLE
) -> Steps[Answered]:
    """Send the request until it is answered, retrying a ``retryable`` failure at most ``policy.max_retries``
    times after :func:`retry_pause`. Any other error, the last failure, and a failure whose pause would exceed
    the cap (a Retry-After over ``BACKOFF_CAP_SECONDS``: nobody waits minutes inside one call) are raised."""
    failures = 0
    while True:
        outcome = yield send
        if isinstance(outcome, Answered):
            return outcome
        failures += 1
        if not isinstance(outcome, retryable) or failures > policy.max_retries:
            raise unexpected(outcome)
        pause = retry_pause(outcome, failures, policy.rng)
        if pause > BACKOFF_CAP_SECONDS:
            raise outcome
        yield Pause(pause)


def parsed_flow(
    send: Send,
    parse: Callable[[Answered], T],
    *,
    policy: RetryPolicy,
    retryable: tuple[type[FreddyMusicError], ...] = RETRYABLE,
) -> Steps[T]:
    """:func:`request_flow`, its answer read by ``parse``."""
    return parse((yield from request_flow(send, policy=policy, retryable=retryable)))


def fetch_job_flow(organization_id: str, job_id: str, *, policy: RetryPolicy) -> Steps[GenerationJob]:
    return parsed_flow(
        Send("GET", job_path(organization_id, job_id)),
        lambda answered: GenerationJob.from_api(answered.body, organization_id, answered.response),
        policy=policy,
    )


def create_flow(
    organization_id: str, body: dict[str, Any], *, idempotency_key: str, policy: RetryPolicy
) -> Steps[GenerationJob]:
    """Create the job: the same request, with the same key, until it is answered or has been retried
    ``policy.max_retries`` times. 429, 5xx, no answer and a key still in use are retried; any other error, a reused
    key among them, is raised at once."""
    send = Send("POST", generations_path(organization_id), json=body, headers={IDEMPOTENCY_KEY_HEADER: idempotency_key})
    return parsed_flow(
        send,
        lambda answered: GenerationJob.from_api(answered.body, organization_id, answered.response),
        policy=policy,
        retryable=RETRYABLE_WITH_KEY,
    )


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
) -> Steps[GenerationJob]:
    """Poll until the job ends or ``timeout`` seconds have passed.

    The pause after an answer is its Retry-After; after a 429, a 5xx or no answer, :func:`retry_pause`. No pause is
    shorter than ``poll_interval_floor``, retries included: the floor is the caller's bound on how often this wait
    asks. Failures are retried until the deadline (the deadline is this flow's budget, not a count). A pause that
    would end after the deadline is not taken: the wait ends at once with :class:`WaitTimeoutError`.
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
        outcome = yield Send(
            "GET",
            job_path(organization_id, job_id),
            timeout=max(min(request_timeout, remaining), MIN_REQUEST_TIMEOUT_SECONDS),
        )
        last_error: FreddyMusicError | None = None
        if isinstance(outcome, Answered):
            failures = 0
            last_job = GenerationJob.from_api(outcome.body, organization_id, outcome.response)
            if (last_job.status, last_job.progress) != last_seen:
                last_seen = (last_job.status, last_job.progress)
                if on_update is not None:
                    yield Notify(on_update, last_job)
            if ended(last_job):
                return last_job
            delay = max(poll_interval_floor, retry_after_seconds(outcome.response.headers) or 0.0)
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


def retry_pause(error: FreddyMusicError, failures: int, rng: random.Random) -> float:
    """The pause before trying again after ``failures`` failures in a row, the last being ``error``: exponential
    from the answer's Retry-After (else from 1 s), capped, with 'equal jitter', and never sooner than the
    Retry-After itself (which alone may exceed the cap)."""
    hint = (error.retry_after if isinstance(error, APIError) else None) or 0.0
    start = 2 * hint if hint else BACKOFF_BASE_SECONDS
    ceiling = min(BACKOFF_CAP_SECONDS, start * 2.0 ** (failures - 1))
    return max(hint, ceiling / 2 + rng.uniform(0, ceiling / 2))


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
    job: GenerationJob, audio: PartialFile, *, now: Callable[[], datetime], policy: RetryPolicy
) -> Steps[GenerationJob]:
    """Save the job's audio into ``audio``. An expired URL (by ``playback_url_expires_at``, or a 403 from the
    storage) is replaced once by fetching the job again. Returns the job whose URL worked."""
    return (
        yield from _signed_download(
            job,
            audio,
            now=now,
            url_of=lambda job: job.playback_url,
            fetch_again=lambda job: _fetch_again(job, policy),
            no_url=lambda job: f"job {job.id} has no playback URL (status {job.status})",
            label=f"job {job.id}",
        )
    )


def track_download_flow(
    track: MusicTrack, audio: PartialFile, *, stem: str | None, now: Callable[[], datetime], policy: RetryPolicy
) -> Steps[MusicTrack]:
    """Save the track's master (or the stem named ``stem``) into ``audio``, with the same rules as a job's
    download: an expired URL is replaced once by fetching the track again. Returns the track whose URL worked."""
    return (
        yield from _signed_download(
            track,
            audio,
            now=now,
            url_of=lambda track: track.playback_url if stem is None else track.stem_urls.get(stem),
            fetch_again=lambda track: _fetch_track_again(track, policy),
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
    fetch_again: Callable[[Signed], Steps[Signed]],
    no_url: Callable[[Signed], str],
    label: str,
) -> Steps[Signed]:
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


def _fetch_again(job: GenerationJob, policy: RetryPolicy) -> Steps[GenerationJob]:
    organization_id = organization_of(job)
    if organization_id is None:
        raise DownloadError(
            f"the playback URL of job {job.id} has expired, and the job was not read through a client, "
            "so it cannot be fetched again for a new one"
        )
    return (yield from fetch_job_flow(organization_id, job.id, policy=policy))


def _fetch_track_again(track: MusicTrack, policy: RetryPolicy) -> Steps[MusicTrack]:
    organization_id = organization_of(track)
    if organization_id is None:
        raise DownloadError(
            f"the URLs of track {track.id} have expired, and the track was not read through a client, "
            "so they cannot be fetched again for new ones"
        )
    return (yield from fetch_track_flow(organization_id, track.id, policy=policy))


def fetch_track_flow(organization_id: str, track_id: str, *, policy: RetryPolicy) -> Steps[MusicTrack]:
    return parsed_flow(
        Send("GET", track_path(organization_id, track_id)),
        lambda answered: MusicTrack.from_api(answered.body, organization_id, answered.response),
        policy=policy,
    )


def unexpected(outcome: Outcome) -> Exception:
    """What a flow raises for an outcome it does not handle: the error itself, or a bug report."""
    if isinstance(outcome, FreddyMusicError):
        return outcome
    return TypeError(f"unexpected outcome {outcome!r}")
