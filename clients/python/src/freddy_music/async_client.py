"""The asynchronous twin of :class:`freddy_music.Client`: the same methods, awaited."""

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
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


class AsyncClient(BaseClient):
    """:class:`freddy_music.Client` for asyncio: ``job = await client.generations.wait(...)``."""

    def __init__(  # noqa: PLR0913 - keyword-only options, each with a default
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = DEFAULT_REQUEST_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(api_key, base_url=base_url, timeout=timeout, clock=clock, rng=rng)
        self._sleep = sleep
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=COMMON_HEADERS, timeout=timeout)
        self.generations = AsyncGenerations(self)
        self.tracks = AsyncTracks(self)

    async def get(self, path: str) -> Any:
        return decoded_body(await self._send("GET", path))

    async def post(self, path: str, json: Any = None) -> Any:
        return decoded_body(await self._send("POST", path, json=json))

    async def download(self, job: GenerationJob, path: str | Path) -> Path:
        destination = Path(path)
        with replacing(destination) as audio:
            await self._run(self._download_flow(job, audio))
        return destination

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _send(
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
            return await self._http.request(
                method, path, headers=self._headers | (headers or {}), json=json, timeout=request_timeout
            )

    async def _run(self, flow: flows.Flow[T]) -> T:
        step = flow.advance(None)
        while step is not None:
            step = flow.advance(await self._perform(step))
        return flow.result

    async def _perform(self, step: flows.Step) -> flows.Outcome:
        try:
            match step:
                case flows.CreateJob():
                    return await self._create(step)
                case flows.FetchJob():
                    return await self._fetch(step)
                case flows.FetchTrack():
                    return await self.tracks.get(step.organization_id, step.track_id)
                case flows.Pause():
                    await self._sleep(step.seconds)
                    return None
                case flows.SaveAudio():
                    return await self._save(step)
                case _:
                    assert_never(step)
        except FreddyMusicError as error:
            return error

    async def _create(self, step: flows.CreateJob) -> flows.FetchedJob:
        response = await self._send(
            "POST",
            generations_path(step.organization_id),
            json=step.body,
            headers={IDEMPOTENCY_KEY_HEADER: step.idempotency_key},
        )
        return flows.fetched_job(response, decoded_body(response), step.organization_id)

    async def _fetch(self, step: flows.FetchJob) -> flows.FetchedJob:
        response = await self._send("GET", job_path(step.organization_id, step.job_id), timeout=step.timeout)
        return flows.fetched_job(response, decoded_body(response), step.organization_id)

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

    async def create(  # noqa: PLR0913 - the request's fields, keyword-only
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
        return await self._client._run(self._client._create_flow(organization_id, body, idempotency_key))

    async def get(self, organization_id: str, job_id: str) -> GenerationJob:
        return (await self._client._fetch(flows.FetchJob(organization_id, job_id, timeout=None))).job

    async def list(
        self, organization_id: str, *, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> AsyncIterator[list[GenerationJob]]:
        while True:
            page = GenerationJobPage.from_api(
                await self._client.get(list_path(organization_id, status=status, limit=limit, offset=offset)),
                organization_id,
            )
            yield page.jobs
            if len(page.jobs) < limit:
                return
            offset += limit

    async def cancel(self, organization_id: str, job_id: str) -> GenerationJob:
        return GenerationJob.from_api(await self._client.post(cancel_path(organization_id, job_id)), organization_id)

    async def wait(
        self,
        organization_id: str,
        job_id: str,
        *,
        timeout: float = flows.DEFAULT_WAIT_TIMEOUT_SECONDS,
        on_update: OnUpdate | None = None,
        poll_interval_floor: float = flows.DEFAULT_POLL_INTERVAL_FLOOR_SECONDS,
    ) -> GenerationJob:
        flow = self._client._wait_flow(
            organization_id, job_id, timeout=timeout, on_update=on_update, floor=poll_interval_floor
        )
        return await self._client._run(flow)


class AsyncTracks:
    """``client.tracks`` of an :class:`AsyncClient`: the methods of :class:`Tracks`, awaited."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def get(self, organization_id: str, track_id: str) -> MusicTrack:
        return MusicTrack.from_api(await self._client.get(track_path(organization_id, track_id)), organization_id)

    async def download(self, track: MusicTrack, path: str | Path, *, stem: str | None = None) -> Path:
        destination = Path(path)
        with replacing(destination) as audio:
            await self._client._run(self._client._track_download_flow(track, audio, stem))
        return destination
