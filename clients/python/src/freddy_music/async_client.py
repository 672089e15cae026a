"""The asynchronous twin of :class:`freddy_music.Client`: the same methods, awaited; ``generations.list`` is
iterated with ``async for`` (or awaited for every job at once)."""

import asyncio
import inspect
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
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


class AsyncClient(BaseClient):
    """:class:`freddy_music.Client` for asyncio: ``job = await client.generations.wait(...)``. ``on_update`` may
    be a coroutine function: what it returns is awaited."""

    def __init__(  # noqa: PLR0913 - keyword-only options, each with a default
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        organization_id: str | None = None,
        timeout: float = DEFAULT_REQUEST_TIMEOUT_SECONDS,
        max_retries: int = flows.DEFAULT_MAX_RETRIES,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
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
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=COMMON_HEADERS, timeout=timeout)
        self._bind()

    def _bind(self) -> None:
        self.generations = AsyncGenerations(self)
        self.tracks = AsyncTracks(self)
        self.engines = AsyncEngines(self)

    async def get(self, path: str) -> Any:
        return await self._run(self._raw_flow("GET", path))

    async def post(self, path: str, json: Any = None, *, idempotency_key: str | None = None) -> Any:
        return await self._run(self._raw_flow("POST", path, json=json, idempotency_key=idempotency_key))

    async def download(self, job: JobOrId, path: str | Path, *, organization_id: str | None = None) -> Path:
        if not isinstance(job, GenerationJob):
            job = await self.generations.get(*((organization_id, job) if organization_id else (job,)))
        destination = Path(path)
        with replacing(destination) as audio:
            await self._run(self._download_flow(job, audio))
        return destination

    async def aclose(self) -> None:
        if self._owns_connections:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _run(self, flow: flows.Flow[T]) -> T:
        step = flow.advance(None)
        while step is not None:
            step = flow.advance(await self._perform(step))
        return flow.result

    async def _perform(self, step: flows.Step) -> flows.Outcome:
        try:
            match step:
                case flows.Send():
                    return await self._send(step)
                case flows.Pause():
                    await self._sleep(step.seconds)
                    return None
                case flows.SaveAudio():
                    return await self._save(step)
                case flows.Notify():
                    result = step.callback(step.job)
                    if inspect.isawaitable(result):
                        await result
                    return None
                case _:
                    assert_never(step)
        except FreddyMusicError as error:
            return error

    async def _send(self, step: flows.Send) -> flows.Answered:
        request_timeout = self.timeout if step.timeout is None else step.timeout
        with connection_errors(f"{step.method} {step.path}"):
            response = await self._http.request(
                step.method, step.path, headers=self._headers | step.headers, json=step.json, timeout=request_timeout
            )
        return flows.Answered(response, decoded_body(response))

    async def _save(self, step: flows.SaveAudio) -> int:
        # No API key here: the signed URL is the storage's only credential. Chunks go to the file directly:
        # a disk write of a chunk is not worth a thread.
        with connection_errors("downloading the audio"):
            async with self._http.stream("GET", step.url) as response:
                if response.is_success:
                    step.audio.restart()
                    async for chunk in response.aiter_bytes():
                        step.audio.write(chunk)
                return response.status_code


class AsyncGenerations:
    """``client.generations`` of an :class:`AsyncClient`: the methods of :class:`Generations`, awaited."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self,
        organization_id: str | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **fields: Unpack[CreationFields],
    ) -> GenerationJob:
        return await self._client._run(
            self._client._create_flow(organization_id, creation_body(fields), idempotency_key)
        )

    async def create_and_wait(  # noqa: PLR0913 - keyword-only options, each with a default
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
        deadline = self._client._clock() + timeout
        created = await self.create(organization_id, idempotency_key=idempotency_key, **fields)
        job = await self.wait(
            created,
            timeout=self._client._remaining(deadline, timeout),
            on_update=on_update,
            poll_interval_floor=poll_interval_floor,
        )
        if output is not None:
            await self._client.download(job, output)
        return job

    async def get(self, job: JobOrId, job_id: JobOrId | None = None, /) -> GenerationJob:
        return await self._client._run(self._client._get_flow(job, job_id))

    def list(
        self, organization_id: str | None = None, /, *, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> "AsyncJobListing":
        """``async for job in client.generations.list(org)``: the jobs of :meth:`Generations.list`, page after
        page; ``await client.generations.list(org)`` collects them into a list."""
        organization = self._client._organization(organization_id)  # a missing one is an error now, not later
        return AsyncJobListing(self, organization, status=status, limit=limit, offset=offset)

    async def list_page(
        self, organization_id: str | None = None, /, *, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> GenerationJobPage:
        return await self._client._run(
            self._client._page_flow(organization_id, status=status, limit=limit, offset=offset)
        )

    async def cancel(self, job: JobOrId, job_id: JobOrId | None = None, /) -> GenerationJob:
        return await self._client._run(self._client._cancel_flow(job, job_id))

    async def wait(
        self,
        job: JobOrId,
        job_id: JobOrId | None = None,
        /,
        *,
        timeout: float = flows.DEFAULT_WAIT_TIMEOUT_SECONDS,
        on_update: OnUpdate | None = None,
        poll_interval_floor: float = flows.DEFAULT_POLL_INTERVAL_FLOOR_SECONDS,
    ) -> GenerationJob:
        flow = self._client._wait_flow(job, job_id, timeout=timeout, on_update=on_update, floor=poll_interval_floor)
        return await self._client._run(flow)


class AsyncJobListing:
    """What the async ``generations.list`` returns: iterate it with ``async for``, or await it for a list."""

    def __init__(
        self, generations: AsyncGenerations, organization_id: str, *, status: str | None, limit: int, offset: int
    ) -> None:
        self._generations = generations
        self._organization_id = organization_id
        self._status = status
        self._limit = limit
        self._offset = offset

    async def __aiter__(self) -> AsyncIterator[GenerationJob]:
        offset: int | None = self._offset
        while offset is not None:
            page = await self._generations.list_page(
                self._organization_id, status=self._status, limit=self._limit, offset=offset
            )
            for job in page.jobs:
                yield job
            offset = page.next_offset

    def __await__(self) -> Generator[Any, None, list[GenerationJob]]:
        return self._collect().__await__()

    async def _collect(self) -> list[GenerationJob]:
        return [job async for job in self]


class AsyncTracks:
    """``client.tracks`` of an :class:`AsyncClient`: the methods of :class:`Tracks`, awaited."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def get(self, track: TrackOrId, track_id: TrackOrId | None = None, /) -> MusicTrack:
        return await self._client._run(self._client._track_flow(track, track_id))

    async def download(
        self, track: TrackOrId, path: str | Path, *, stem: str | None = None, organization_id: str | None = None
    ) -> Path:
        if not isinstance(track, MusicTrack):
            track = await self.get(*((organization_id, track) if organization_id else (track,)))
        destination = Path(path)
        with replacing(destination) as audio:
            await self._client._run(self._client._track_download_flow(track, audio, stem))
        return destination


class AsyncEngines:
    """``client.engines`` of an :class:`AsyncClient`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(self, organization_id: str | None = None, /) -> list[Engine]:
        return await self._client._run(self._client._engines_flow(organization_id))
