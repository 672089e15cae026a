"""The synchronous client."""

import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar, assert_never

import httpx

from freddy_music import _flows as flows
from freddy_music._base import BaseClient, OnUpdate, creation_body
from freddy_music._files import replacing
from freddy_music._http import (
    COMMON_HEADERS,
    DEFAULT_REQUEST_TIMEOUT_SECONDS,
    IDEMPOTENCY_KEY_HEADER,
    cancel_path,
    connection_errors,
    decoded_body,
    generations_path,
    job_path,
    list_path,
    track_path,
)
from freddy_music.errors import FreddyMusicError
from freddy_music.models import GenerationJob, GenerationJobPage, MusicTrack

T = TypeVar("T")


class Client(BaseClient):
    """A client of the Freddy music generations API.

    ``api_key`` defaults to ``$FREDDY_API_KEY``; ``base_url`` to ``$FREDDY_BASE_URL``, else the public API.
    ``timeout`` bounds each request, in seconds. ``clock``, ``sleep`` and ``rng`` pace
    :meth:`Generations.wait`; they are there for tests.
    """

    def __init__(  # noqa: PLR0913 - keyword-only options, each with a default
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = DEFAULT_REQUEST_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(api_key, base_url=base_url, timeout=timeout, clock=clock, rng=rng)
        self._sleep = sleep
        self._http = httpx.Client(base_url=self.base_url, headers=COMMON_HEADERS, timeout=timeout)
        self.generations = Generations(self)
        self.tracks = Tracks(self)

    def get(self, path: str) -> Any:
        """GET ``path`` (e.g. ``/v1/music/org/generations/job``): the decoded JSON, or a typed :class:`APIError`."""
        return decoded_body(self._send("GET", path))

    def post(self, path: str, json: Any = None) -> Any:
        """POST ``json`` to ``path``: the decoded JSON answer, or a typed :class:`APIError`."""
        return decoded_body(self._send("POST", path, json=json))

    def download(self, job: GenerationJob, path: str | Path) -> Path:
        """Save a succeeded job's audio to ``path``, which is replaced only once the whole file has arrived.

        An expired playback URL (past ``playback_url_expires_at``, or refused with 403) is replaced once by
        fetching the job again. Raises :class:`DownloadError` when the storage refuses, or
        :class:`APIConnectionError` when it cannot be reached.
        """
        destination = Path(path)
        with replacing(destination) as audio:
            self._run(self._download_flow(job, audio))
        return destination

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        timeout: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        request_timeout = self._timeout if timeout is None else timeout
        with connection_errors(f"{method} {path}"):
            return self._http.request(
                method, path, headers=self._headers | (headers or {}), json=json, timeout=request_timeout
            )

    def _run(self, flow: flows.Flow[T]) -> T:
        step = flow.advance(None)
        while step is not None:
            step = flow.advance(self._perform(step))
        return flow.result

    def _perform(self, step: flows.Step) -> flows.Outcome:
        try:
            match step:
                case flows.CreateJob():
                    return self._create(step)
                case flows.FetchJob():
                    return self._fetch(step)
                case flows.FetchTrack():
                    return self.tracks.get(step.organization_id, step.track_id)
                case flows.Pause():
                    self._sleep(step.seconds)
                    return None
                case flows.SaveAudio():
                    return self._save(step)
                case _:
                    assert_never(step)
        except FreddyMusicError as error:
            return error

    def _create(self, step: flows.CreateJob) -> flows.FetchedJob:
        response = self._send(
            "POST",
            generations_path(step.organization_id),
            json=step.body,
            headers={IDEMPOTENCY_KEY_HEADER: step.idempotency_key},
        )
        return flows.fetched_job(response, decoded_body(response), step.organization_id)

    def _fetch(self, step: flows.FetchJob) -> flows.FetchedJob:
        response = self._send("GET", job_path(step.organization_id, step.job_id), timeout=step.timeout)
        return flows.fetched_job(response, decoded_body(response), step.organization_id)

    def _save(self, step: flows.SaveAudio) -> int:
        # No API key here: the signed URL is the storage's only credential.
        with connection_errors("downloading the audio"), self._http.stream("GET", step.url) as response:
            if response.is_success:
                step.audio.restart()
                for chunk in response.iter_bytes():
                    step.audio.write(chunk)
            return response.status_code


class Generations:
    """``client.generations``: music generation jobs."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(  # noqa: PLR0913 - the request's fields, keyword-only
        self,
        organization_id: str,
        *,
        engine: str,
        prompt: str,
        duration_seconds: int,
        mode: str = "creation",
        instrumental: bool = False,
        lyrics: str | None = None,
        seed_track_id: str | None = None,
        style_tags: list[str] | None = None,
        title: str | None = None,
        idempotency_key: str | None = None,
    ) -> GenerationJob:
        """Ask for a new track: the new job, ``queued`` (follow it with :meth:`wait`).

        Sent with an ``Idempotency-Key`` header: ``idempotency_key``, else a new random key for this call. Every
        retry of the call (429, 5xx, no answer, or 409 ``IDEMPOTENCY_KEY_IN_USE``; at most
        ``MAX_CREATE_ATTEMPTS`` attempts, with the backoff of :meth:`wait`) sends the same key, so the API creates
        one job however often the request arrives. Pass your own key to make a create safe to repeat across
        calls or processes: the same key with the same fields answers the same job. Raises
        :class:`ValidationError` for a field the API refuses and :class:`IdempotencyKeyReusedError` for a key
        already used with different fields, neither retried.
        """
        body = creation_body(
            engine=engine,
            prompt=prompt,
            duration_seconds=duration_seconds,
            mode=mode,
            instrumental=instrumental,
            lyrics=lyrics,
            seed_track_id=seed_track_id,
            style_tags=style_tags,
            title=title,
        )
        return self._client._run(self._client._create_flow(organization_id, body, idempotency_key))

    def get(self, organization_id: str, job_id: str) -> GenerationJob:
        """The job as it is now."""
        return self._client._fetch(flows.FetchJob(organization_id, job_id, timeout=None)).job

    def list(
        self, organization_id: str, *, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> Iterator[list[GenerationJob]]:
        """The caller's jobs in the organization, newest first, one page of at most ``limit`` at a time from
        ``offset`` (jobs carry no playback URL or track: ``get`` one for that). Stops after the first short page;
        the server answers 400 beyond its largest offset (1000)."""
        while True:
            page = GenerationJobPage.from_api(
                self._client.get(list_path(organization_id, status=status, limit=limit, offset=offset)),
                organization_id,
            )
            yield page.jobs
            if len(page.jobs) < limit:
                return
            offset += limit

    def cancel(self, organization_id: str, job_id: str) -> GenerationJob:
        """Ask for the job to be cancelled (cooperative, idempotent): the job as it is now. A queued job comes
        back ``cancelled``; a running one stays ``running`` until its worker stops (``wait`` then raises
        :class:`JobCancelledError`); a job that had already ended comes back unchanged."""
        return GenerationJob.from_api(self._client.post(cancel_path(organization_id, job_id)), organization_id)

    def wait(
        self,
        organization_id: str,
        job_id: str,
        *,
        timeout: float = flows.DEFAULT_WAIT_TIMEOUT_SECONDS,
        on_update: OnUpdate | None = None,
        poll_interval_floor: float = flows.DEFAULT_POLL_INTERVAL_FLOOR_SECONDS,
    ) -> GenerationJob:
        """Poll the job until it ends, for at most ``timeout`` seconds; returns it once it has succeeded.

        Polls no faster than each answer's Retry-After, and never faster than ``poll_interval_floor``; retries
        429, 5xx and connection failures with jittered exponential backoff within the deadline; raises any other
        API error at once. ``on_update(job)`` is called for the first answer and whenever the status or the
        progress changes. Raises :class:`JobFailedError`, :class:`JobCancelledError` or :class:`JobRefusedError`
        (each carrying the job), or :class:`WaitTimeoutError`.
        """
        flow = self._client._wait_flow(
            organization_id, job_id, timeout=timeout, on_update=on_update, floor=poll_interval_floor
        )
        return self._client._run(flow)


class Tracks:
    """``client.tracks``: the tracks the caller generated."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def get(self, organization_id: str, track_id: str) -> MusicTrack:
        """The track, with URLs for its master and each stem signed just now."""
        return MusicTrack.from_api(self._client.get(track_path(organization_id, track_id)), organization_id)

    def download(self, track: MusicTrack, path: str | Path, *, stem: str | None = None) -> Path:
        """Save the track's master (or the stem named ``stem``) to ``path``, which is replaced only once the whole
        file has arrived. Expired URLs are replaced once by fetching the track again (as ``Client.download``)."""
        destination = Path(path)
        with replacing(destination) as audio:
            self._client._run(self._client._track_download_flow(track, audio, stem))
        return destination
