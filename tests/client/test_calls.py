"""How calls read: the one-call path (create_and_wait), a job or its id wherever a job is named, a default
organization, listing that yields jobs and stops at the API's offset cap, engines, and the async client keeping its
promise (every method awaited, coroutine callbacks awaited)."""

import asyncio
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from freddy_music import AsyncClient, Client, ConfigurationError, Engine, GenerationJob
from freddy_music.models import MAX_LIST_OFFSET
from tests.helpers.client import API_KEY, AUDIO, JOB, JOB_PATH, ORG, Flavour, job_answer, job_body
from tests.helpers.scripted_server import Answer, ScriptedServer

GENERATIONS_PATH = f"/v1/music/{ORG}/generations"
ENGINES_PATH = f"/v1/music/{ORG}/engines"
STUDIO = {
    "key": "studio",
    "max_duration_seconds": 300,
    "vocals": True,
    "lyrics": True,
    "stems": True,
    "languages": ["en", "de"],
    "licence_class": "commercial_cleared",
    "commercial_use": True,
    "requires_attribution": False,
}


@pytest.fixture(autouse=True)
def no_organization_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FREDDY_ORGANIZATION_ID", raising=False)


def script_a_job_that_succeeds(server: ScriptedServer) -> None:
    server.script(GENERATIONS_PATH, Answer(202, job_body("queued", 0), {"Retry-After": "1"}))
    server.script(
        JOB_PATH,
        job_answer("running", 60, "1"),
        job_answer("succeeded", 100, playback_url=f"{server.url}/storage/audio.mp3?sig=1"),
    )
    server.script("/storage/audio.mp3", Answer(200, AUDIO))


def test_create_and_wait_goes_from_prompt_to_file_in_one_call(
    paced: Flavour, virtual_server: ScriptedServer, tmp_path: Path
) -> None:
    script_a_job_that_succeeds(virtual_server)
    updates: list[tuple[str, int]] = []

    job = paced.call(
        lambda client: client.generations.create_and_wait(
            ORG,
            engine="studio",
            prompt="calm piano",
            duration_seconds=30,
            title="Rain",
            timeout=60,
            on_update=lambda job: updates.append((job.status, job.progress)),
            output=tmp_path / "rain.mp3",
        )
    )

    assert (job.id, job.status) == (JOB, "succeeded")
    assert updates == [("running", 60), ("succeeded", 100)]
    assert (tmp_path / "rain.mp3").read_bytes() == AUDIO
    (create,) = virtual_server.requests_to(GENERATIONS_PATH)
    assert json.loads(create.body)["title"] == "Rain"


def test_create_and_wait_without_output_saves_nothing(paced: Flavour, virtual_server: ScriptedServer) -> None:
    script_a_job_that_succeeds(virtual_server)

    job = paced.call(
        lambda client: client.generations.create_and_wait(ORG, engine="studio", prompt="p", duration_seconds=5)
    )

    assert job.status == "succeeded"
    assert virtual_server.requests_to("/storage/audio.mp3") == []


@pytest.mark.parametrize(
    "use",
    [
        lambda client, job: client.generations.wait(job),
        lambda client, job: client.generations.wait(ORG, job),
        lambda client, job: client.generations.wait(ORG, job.id),
        lambda client, job: client.generations.get(job),
        lambda client, job: client.generations.get(ORG, job),
        lambda client, job: client.generations.cancel(job),
    ],
    ids=["wait(job)", "wait(org, job)", "wait(org, id)", "get(job)", "get(org, job)", "cancel(job)"],
)
def test_a_job_is_named_by_itself_or_by_its_id(flavour: Flavour, server: ScriptedServer, use: Any) -> None:
    server.script(JOB_PATH, job_answer("succeeded", 100))
    server.script(f"{JOB_PATH}/cancel", job_answer("succeeded", 100))

    def twice(client: Any) -> Any:
        if flavour.name == "sync":
            return use(client, client.generations.get(ORG, JOB))

        async def run() -> Any:
            return await use(client, await client.generations.get(ORG, JOB))

        return run()

    job = flavour.call(twice)

    assert (job.id, job.status) == (JOB, "succeeded")


@pytest.mark.parametrize("source", ["argument", "environment"])
def test_a_default_organization_serves_calls_that_name_none(
    flavour: Flavour, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    server.script(JOB_PATH, job_answer("running"))
    server.script(ENGINES_PATH, Answer(200, {"engines": [STUDIO]}))
    options = {"organization_id": ORG} if source == "argument" else {}
    if source == "environment":
        monkeypatch.setenv("FREDDY_ORGANIZATION_ID", ORG)

    job = flavour.call(lambda client: client.generations.get(JOB), **options)
    engines = flavour.call(lambda client: client.engines.list(), **options)

    assert job.id == JOB
    assert [engine.key for engine in engines] == ["studio"]


def test_without_an_organization_a_call_says_how_to_give_one(server: ScriptedServer) -> None:
    with Client(API_KEY, base_url=server.url) as client, pytest.raises(ConfigurationError, match="organization_id"):
        client.generations.get(JOB)
    assert server.received == []


def test_a_wrong_argument_is_named(server: ScriptedServer) -> None:
    with Client(API_KEY, base_url=server.url) as client, pytest.raises(TypeError, match="GenerationJob or its id"):
        client.generations.wait(ORG, 42)  # type: ignore[arg-type]


def test_engines_are_typed(flavour: Flavour, server: ScriptedServer) -> None:
    server.script(ENGINES_PATH, Answer(200, {"engines": [STUDIO, STUDIO | {"key": "sketch", "future": 1}]}))

    engines = flavour.call(lambda client: client.engines.list(ORG))

    assert all(isinstance(engine, Engine) for engine in engines)
    assert engines[0].model_dump(mode="json") == STUDIO
    assert engines[1].model_extra == {"future": 1}


def test_listing_stops_cleanly_at_the_apis_offset_cap(flavour: Flavour, server: ScriptedServer) -> None:
    # The answers' own offsets are what the client reads: make each page say where it is.
    offsets = iter(range(0, 2000, 100))
    server.script(
        GENERATIONS_PATH,
        lambda _: Answer(200, {"jobs": [job_body("succeeded", 100)] * 100, "limit": 100, "offset": next(offsets)}),
    )

    def every_job(client: Any) -> Any:
        if flavour.name == "sync":
            return list(client.generations.list(ORG, limit=100))

        async def collect() -> list[GenerationJob]:
            return [job async for job in client.generations.list(ORG, limit=100)]

        return collect()

    jobs = flavour.call(every_job)

    asked = [request.path.split("offset=")[1] for request in server.received]
    assert asked == [str(offset) for offset in range(0, MAX_LIST_OFFSET + 1, 100)], "never beyond 1,000: no 400"
    assert len(jobs) == MAX_LIST_OFFSET + 100


def test_one_page_stays_reachable(flavour: Flavour, server: ScriptedServer) -> None:
    server.script(GENERATIONS_PATH, Answer(200, {"jobs": [job_body("queued", 0)] * 2, "limit": 2, "offset": 4}))

    page = flavour.call(lambda client: client.generations.list_page(ORG, status="queued", limit=2, offset=4))

    assert [job.status for job in page.jobs] == ["queued", "queued"]
    assert page.next_offset == 6
    assert server.received[0].path == f"{GENERATIONS_PATH}?limit=2&offset=4&status=queued"


def test_the_async_listing_can_also_be_awaited(server: ScriptedServer) -> None:
    server.script(GENERATIONS_PATH, Answer(200, {"jobs": [job_body("queued", 0)], "limit": 50, "offset": 0}))

    async def run() -> list[GenerationJob]:
        async with AsyncClient(API_KEY, base_url=server.url) as client:
            return await client.generations.list(ORG)

    jobs = asyncio.run(run())

    assert [job.id for job in jobs] == [JOB]


def test_the_async_client_awaits_a_coroutine_callback(server: ScriptedServer) -> None:
    server.script(JOB_PATH, job_answer("running", 10, "0"), job_answer("succeeded", 100))
    seen: list[int] = []

    async def show(job: GenerationJob) -> None:
        await asyncio.sleep(0)
        seen.append(job.progress)

    async def run() -> GenerationJob:
        async with AsyncClient(API_KEY, base_url=server.url) as client:
            return await client.generations.wait(ORG, JOB, on_update=show, poll_interval_floor=0)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine ... was never awaited" would fail the test
        asyncio.run(run())

    assert seen == [10, 100]


def test_the_sync_client_refuses_a_coroutine_callback_without_a_warning(server: ScriptedServer) -> None:
    server.script(JOB_PATH, job_answer("running", 10, "0"))

    async def show(job: GenerationJob) -> None:
        """Never run."""

    with warnings.catch_warnings(), Client(API_KEY, base_url=server.url) as client:
        warnings.simplefilter("error")  # "coroutine ... was never awaited" would fail the test
        with pytest.raises(TypeError, match="AsyncClient"):
            client.generations.wait(ORG, JOB, on_update=show)
