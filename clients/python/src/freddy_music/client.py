"""The synchronous client."""

import inspect
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar, Unpack, assert_never

import httpx

from freddy_music import _flows as flows
from freddy_music._base import BaseClient, CreationFields, JobOrId, OnUpdate, TrackOrId, creation_body
from freddy_music._files import replacing
from freddy_music._http import COMMON_HEADERS, DEFAULT_REQUEST_TIMEOUT_SECONDS, connection_errors, decoded_body
from freddy_music.errors import FreddyMusicError
from freddy_music.models import Engine, GenerationJob, GenerationJobPage, MusicTrack

T = TypeVar("T")


class Client(BaseClient):
    """A client of the Freddy music generations API.

    ``api_key`` defaults to ``$FREDDY_API_KEY``; ``base_url`` to ``$FREDDY_BASE_URL``, else the public API;
    ``organization_id`` (the organization a call names when it is given none) to ``$FREDDY_ORGANIZATION_ID``.
    ``timeout`` bounds each request, in seconds; ``max_retries`` is how often a request that failed in a way worth
    retrying (429, 5xx, no answer) is tried again: every GET, a cancel, and a POST with an idempotency key (see the
    README's "Retries"). :meth:`with_options` changes either for some calls. ``clock``, ``sleep`` and ``rng``
    pace retries and :meth:`Generations.wait`; they are there for tests.
    """

    def __init__(  # noqa: PLR0913 - keyword-only options, each with a default
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        organization_id: str | None = None,
        timeout: float = DEFAULT_REQUEST_TIMEOUT_SECONDS,
        max_retries: int = flows.DEFAULT_MAX_RETRIES,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url=base_url,
            organization_id=organization_id,
            timeout=timeout,
            max_retries=max_retries,
            clock=clock,
            rng=rng,
        )
        self._sleep = sleep
        self._http = httpx.Client(base_url=self.base_url, headers=COMMON_HEADERS, timeout=timeout)
        self._bind()

    def _bind(self) -> None:
        self.generations = Generations(self)
        self.tracks = Tracks(self)
        self.engines = Engines(self)

    def get(self, path: str) -> Any:
        """GET ``path`` (e.g. ``/v1/music/org/generations/job``): the decoded JSON, or a typed :class:`APIError`.
        Retried like every GET."""
        return self._run(self._raw_flow("GET", path))

    def post(self, path: str, json: Any = None, *, idempotency_key: str | None = None) -> Any:
        """POST ``json`` to ``path``: the decoded JSON answer, or a typed :class:`APIError`. Retried only with an
        ``idempotency_key`` (sent as the ``Idempotency-Key`` header): without one a repeat could act twice."""
        return self._run(self._raw_flow("POST", path, json=json, idempotency_key=idempotency_key))

    def download(self, job: JobOrId, path: str | Path, *, organization_id: str | None = None) -> Path:
        """Save a succeeded job's audio (the job, or its id) to ``path``, which is replaced only once the whole file
        has arrived.

        An expired playback URL (within ``URL_EXPIRY_MARGIN`` of ``playback_url_expires_at``, or refused with 403)
        is replaced once by fetching the job again. Raises :class:`DownloadError` when the storage refuses, or
        :class:`APIConnectionError` when it cannot be reached.
        """
        if not isinstance(job, GenerationJob):
            job = self.generations.get(*((organization_id, job) if organization_id else (job,)))
        destination = Path(path)
        with replacing(destination) as audio:
            self._run(self._download_flow(job, audio))
        return destination

    def close(self) -> None:
        if self._owns_connections:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _run(self, flow: flows.Flow[T]) -> T:
        step = flow.advance(None)
        while step is not None:
            step = flow.advance(self._perform(step))
        return flow.result

    def _perform(self, step: flows.Step) -> flows.Outcome:
        try:
            match step:
                case flows.Send():
                    return self._send(step)
                case flows.Pause():
                    self._sleep(step.seconds)
                    return None
                case flows.SaveAudio():
                    return self._save(step)
                case flows.Notify():
                    _call_back(step)
                    return None
                case _:
                    assert_never(step)
        except FreddyMusicError as error:
            return error

    def _send(self, step: flows.Send) -> flows.Answered:
        request_timeout = self.timeout if step.timeout is None else step.timeout
        with connection_errors(f"{step.method} {step.path}"):
            response = self._http.request(
                step.method, step.path, headers=self._headers | step.headers, json=step.json, timeout=request_timeout
            )
        return flows.Answered(response, decoded_body(response))

    def _save(self, step: flows.SaveAudio) -> int:
        # No API key here: the signed URL is the storage's only credential.
        with connection_errors("downloading the audio"), self._http.stream("GET", step.url) as response:
            if response.is_success:
                step.audio.restart()
                for chunk in response.iter_bytes():
                    step.audio.write(chunk)
            return response.status_code


def _call_back(step: flows.Notify) -> None:
    result = step.callback(step.job)
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()  # not run, and no "never awaited" warning
        raise TypeError("on_update returned an awaitable: the sync Client cannot await it; use AsyncClient")


class Generations:
    """``client.generations``: music generation jobs. A job is named by the job itself (as a call returned it),
    or by its id; the organization comes first when given (``get(org, job_id)``), else from the job, else the
    client's default."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
        self,
        organization_id: str | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **fields: Unpack[CreationFields],
    ) -> GenerationJob:
        """Ask for a new track (``engine``, ``prompt``, ``duration_seconds``, and optionally ``mode``,
        ``instrumental``, ``lyrics``, ``seed_track_id``, ``style_tags``, ``title``): the new job, ``queued``
        (follow it with :meth:`wait`, or call :meth:`create_and_wait`).

        Sent with an ``Idempotency-Key`` header: ``idempotency_key``, else a new random key for this call. Every
        retry (429, 5xx, no answer, or 409 ``IDEMPOTENCY_KEY_IN_USE``) sends the same key, so the API creates one
        job however often the request arrives. Pass your own key to make a create safe to repeat across calls or
        processes. Raises :class:`ValidationError` for a field the API refuses and
        :class:`IdempotencyKeyReusedError` for a key already used with different fields, neither retried.
        """
        return self._client._run(self._client._create_flow(organization_id, creation_body(fields), idempotency_key))

    def create_and_wait(  # noqa: PLR0913 - keyword-only options, each with a default
        self,
        organization_id: str | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        timeout: float = flows.DEFAULT_WAIT_TIMEOUT_SECONDS,
        on_update: OnUpdate | None = None,
        poll_interval_floor: float = flows.DEFAULT_POLL_INTERVAL_FLOOR_SECONDS,
        output: str | Path | None = None,
        **fields: Unpack[CreationFields],
    ) -> GenerationJob:
        """:meth:`create`, then :meth:`wait` (``timeout`` bounds both together), then, given ``output``,
        :meth:`Client.download` to that path. Returns the succeeded job; raises what those raise."""
        deadline = self._client._clock() + timeout
        created = self.create(organization_id, idempotency_key=idempotency_key, **fields)
        job = self.wait(
            created,
            timeout=self._client._remaining(deadline, timeout),
            on_update=on_update,
            poll_interval_floor=poll_interval_floor,
        )
        if output is not None:
            self._client.download(job, output)
        return job

    def get(self, job: JobOrId, job_id: JobOrId | None = None, /) -> GenerationJob:
        """The job as it is now: ``get(job)``, ``get(job_id)`` or ``get(organization_id, job_id)``."""
        return self._client._run(self._client._get_flow(job, job_id))

    def list(
        self, organization_id: str | None = None, /, *, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> Iterator[GenerationJob]:
        """The caller's jobs in the organization, newest first, from ``offset``, fetched ``limit`` at a time as
        the iteration goes (jobs carry no playback URL or track: ``get`` one for that). Ends after the last page, or
        after the page at the API's largest offset (1,000): narrow by ``status`` to reach older jobs."""
        organization = self._client._organization(organization_id)  # a missing one is an error now, not later

        def jobs() -> Iterator[GenerationJob]:
            following: int | None = offset
            while following is not None:
                page = self.list_page(organization, status=status, limit=limit, offset=following)
                yield from page.jobs
                following = page.next_offset

        return jobs()

    def list_page(
        self, organization_id: str | None = None, /, *, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> GenerationJobPage:
        """One page of the list: ``.jobs``, ``.limit``, ``.offset``, and ``.next_offset`` (None on the last)."""
        return self._client._run(self._client._page_flow(organization_id, status=status, limit=limit, offset=offset))

    def cancel(self, job: JobOrId, job_id: JobOrId | None = None, /) -> GenerationJob:
        """Ask for the job to be cancelled (cooperative, idempotent, so retried like a GET): the job as it is now.
        A queued job comes back ``cancelled``; a running one stays ``running`` until its worker stops (``wait`` then
        raises :class:`JobCancelledError`); a job that had already ended comes back unchanged."""
        return self._client._run(self._client._cancel_flow(job, job_id))

    def wait(
        self,
        job: JobOrId,
        job_id: JobOrId | None = None,
        /,
        *,
        timeout: float = flows.DEFAULT_WAIT_TIMEOUT_SECONDS,
        on_update: OnUpdate | None = None,
        poll_interval_floor: float = flows.DEFAULT_POLL_INTERVAL_FLOOR_SECONDS,
    ) -> GenerationJob:
        """Poll the job until it ends, for at most ``timeout`` seconds; returns it once it has succeeded.

        Polls no faster than each answer's Retry-After, and never faster than ``poll_interval_floor`` (retries
        included); retries 429, 5xx and connection failures with jittered exponential backoff until the deadline;
        raises any other API error at once. ``on_update(job)`` is called for the first answer and whenever the
        status or the progress changes. Raises :class:`JobFailedError`, :class:`JobCancelledError` or
        :class:`JobRefusedError` (each carrying the job), or :class:`WaitTimeoutError`.
        """
        flow = self._client._wait_flow(job, job_id, timeout=timeout, on_update=on_update, floor=poll_interval_floor)
        return self._client._run(flow)


class Tracks:
    """``client.tracks``: the tracks the caller generated."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def get(self, track: TrackOrId, track_id: TrackOrId | None = None, /) -> MusicTrack:
        """The track, with URLs for its master and each stem signed just now: ``get(track_id)`` or
        ``get(organization_id, track_id)``."""
        return self._client._run(self._client._track_flow(track, track_id))

    def download(
        self, track: TrackOrId, path: str | Path, *, stem: str | None = None, organization_id: str | None = None
    ) -> Path:
        """Save the track's master (or the stem named ``stem``) to ``path``, which is replaced only once the whole
        file has arrived. Expired URLs are replaced once by fetching the track again (as ``Client.download``)."""
        if not isinstance(track, MusicTrack):
            track = self.get(*((organization_id, track) if organization_id else (track,)))
        destination = Path(path)
        with replacing(destination) as audio:
            self._client._run(self._client._track_download_flow(track, audio, stem))
        return destination


class Engines:
    """``client.engines``: the engines of the catalogue a create may name."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self, organization_id: str | None = None, /) -> list[Engine]:
        """The enabled engines, sorted by key (each carries the answer's ``response``)."""
        return self._client._run(self._client._engines_flow(organization_id))
