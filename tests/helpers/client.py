"""Calling the Python client in tests: answers the API would give, virtual time, and either client alike."""

import asyncio
import os
import random
import subprocess  # nosec B404
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from freddy_music import AsyncClient, Client, GenerationJob
from tests.helpers.scripted_server import Answer
from tests.helpers.seed import ALICE_KEY as API_KEY
from tests.helpers.seed import ORG
from tests.helpers.seed import SEED_JOB_ID as JOB

__all__ = [
    "API_KEY",
    "AUDIO",
    "JOB",
    "JOB_PATH",
    "ORG",
    "Flavour",
    "VirtualTime",
    "envelope",
    "job_answer",
    "job_body",
    "run_as_alice",
    "watched_lines",
]

JOB_PATH = f"/v1/music/{ORG}/generations/{JOB}"
AUDIO = b"ID3\x04\x00" + bytes(range(256)) * 64  # any bytes: the client does not look inside


def job_body(status: str = "running", progress: int = 42, **fields: Any) -> dict[str, Any]:
    """A job as the API answers it (the contract's example, in ``status``)."""
    succeeded = status == "succeeded"
    url = fields.pop("playback_url", "https://storage.invalid/audio.mp3?sig=1") if succeeded else None
    body: dict[str, Any] = {
        "id": JOB,
        "status": status,
        "progress": progress,
        "engine": "studio",
        "mode": "creation",
        "created_at": "2026-06-28T10:30:00Z",
        "result_track_id": "mtrack_7c1a9e2f4b8d" if succeeded else None,
        "error_message": "The engine could not finish this track. Please retry." if status == "failed" else None,
        "refusal_reason": "The prompt asks to imitate a living artist's voice." if status == "refused" else None,
        "playback_url": url,
        "playback_url_expires_at": "2099-01-01T00:00:00Z" if succeeded else None,
        "track": None,
    }
    if succeeded:
        body["track"] = {
            "id": "mtrack_7c1a9e2f4b8d",
            "title": "Late Night Study",
            "engine": "studio",
            "mode": "creation",
            "instrumental": True,
            "measured_duration_seconds": 119.4,
            "mime_type": "audio/mpeg",
            "licence_class": "personal_only",
            "playback_url": url,
        }
    return body | fields


def job_answer(status: str = "running", progress: int = 42, retry_after: str | None = None, **fields: Any) -> Answer:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return Answer(200, job_body(status, progress, **fields), headers)


def watched_lines(saved: Path) -> list[str]:
    """What watch and generate print (not on a terminal) for the job seen running at 60 % and then succeeded with
    the contract's track, its audio saved to ``saved``."""
    return [
        f"{JOB} running 60%",
        f"{JOB} succeeded 100%",
        "Late Night Study (mtrack_7c1a9e2f4b8d)",
        "  1:59, audio/mpeg, licence personal_only, instrumental, engine studio",
        f"saved {saved} ({len(AUDIO):,} bytes)",
    ]


def envelope(status: int, code: str, error_type: str, **details: str) -> dict[str, Any]:
    return {
        "success": False,
        "error": {
            "code": code,
            "message": f"message of {code}",
            "system_message": f"system message of {code}",
            "type": error_type,
            "status": status,
            "details": details,
            "trace_id": "req_abc123xyz",
            "timestamp": "2026-06-28T10:30:00Z",
        },
    }


@dataclass
class VirtualTime:
    """A clock that moves only when the client sleeps: pacing is checked exactly, and at no cost in time."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


@dataclass
class Flavour:
    """One of the two clients, called the same way: ``flavour.call(lambda client: client.generations.get(…))``
    awaits the result when the client is the async one."""

    name: str
    base_url: str
    time: VirtualTime | None = None

    def call(self, use: Callable[[Any], Any], **options: Any) -> Any:
        pacing: dict[str, Any] = {"rng": random.Random(12)}  # noqa: S311 - seeded jitter, for repeatable pauses
        if self.time is not None:
            pacing["clock"] = self.time.clock
        if self.name == "sync":
            if self.time is not None:
                pacing["sleep"] = self.time.sleep
            with Client(API_KEY, base_url=self.base_url, **(pacing | options)) as client:
                return use(client)
        if self.time is not None:
            pacing["sleep"] = self.time.async_sleep

        async def run() -> Any:
            async with AsyncClient(API_KEY, base_url=self.base_url, **(pacing | options)) as client:
                return await use(client)

        return asyncio.run(run())

    def wait(self, **options: Any) -> GenerationJob:
        job: GenerationJob = self.call(lambda client: client.generations.wait(ORG, JOB, **options))
        return job

    def get_job(self) -> GenerationJob:
        job: GenerationJob = self.call(lambda client: client.generations.get(ORG, JOB))
        return job

    def download(self, job: GenerationJob, path: Path) -> Path:
        saved: Path = self.call(lambda client: client.download(job, path))
        return saved


def run_as_alice(command: list[str], base_url: str, cwd: Path | None = None) -> str:
    """Run a command as a user of the API would: the demo key and the base URL in the environment (nothing else
    of ours), in ``cwd`` if given; it must succeed. Returns what it printed."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("FREDDY_")}
    finished = subprocess.run(  # noqa: S603 - commands the tests choose, against loopback
        command,
        cwd=cwd,
        env=environment | {"FREDDY_API_KEY": API_KEY, "FREDDY_BASE_URL": base_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return finished.stdout
