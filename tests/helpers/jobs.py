"""Jobs written through the lifecycle writer, read back two ways: the item as stored, and what a client gets from
the real GET handler."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from get_generation.app import lambda_handler
from music_api.core.dynamodb import from_item
from music_api.jobs.models import StoredTrack
from music_api.jobs.store import job_key
from music_api.jobs.writer import JobRef, JobWriter
from music_local.emulator import LocalAws
from music_local.gateway import LambdaContext
from tests.helpers.events import generation_event
from tests.helpers.seed import ALICE, ORG

IN_FLIGHT = frozenset({"queued", "running"})
TERMINAL = frozenset({"succeeded", "failed", "cancelled", "refused"})
# Statuses only move forward: queued, then running, then one terminal status.
STATUS_RANK = {"queued": 0, "running": 1} | dict.fromkeys(TERMINAL, 2)


class TickingClock:
    """A clock that moves one second per reading: every timestamp a writer records is distinct and known."""

    def __init__(self, start: datetime = datetime(2026, 6, 28, 10, 30, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def fixed_clock(moment: datetime) -> Callable[[], datetime]:
    """A clock stopped at ``moment``: a writer made with it writes that time, as if it were then."""
    return lambda: moment


def job_ref(job_id: str, *, organization_id: str = ORG, user_id: str = ALICE) -> JobRef:
    return JobRef(organization_id, user_id, job_id)


def job_writer(aws: LocalAws, **options: Any) -> JobWriter:
    return JobWriter(aws.dynamodb, aws.jobs_table, **options)


def a_track(track_id: str = "mtrack_written01", title: str = "Written Track") -> StoredTrack:
    return StoredTrack(
        id=track_id,
        title=title,
        engine="studio",
        mode="creation",
        instrumental=True,
        measured_duration_seconds=119.4,
        mime_type="audio/mpeg",
        licence_class="personal_only",
        audio_key=f"audio/{ORG}/{track_id}.mp3",
    )


def stored_item(aws: LocalAws, ref: JobRef) -> dict[str, Any] | None:
    """The item as DynamoDB holds it (plain values), read strongly consistent; ``None`` when there is none."""
    item = aws.dynamodb.get_item(
        TableName=aws.jobs_table, Key=job_key(ref.organization_id, ref.user_id, ref.job_id), ConsistentRead=True
    ).get("Item")
    return None if item is None else from_item(item)


@dataclass(frozen=True)
class ClientView:
    status_code: int
    headers: dict[str, str]
    body: dict[str, Any]


def client_view(ref: JobRef) -> ClientView:
    """What the job's owner gets from the real GET handler."""
    event = generation_event(ref.organization_id, ref.job_id, user_id=ref.user_id, orgs=ref.organization_id)
    response = lambda_handler(event, LambdaContext(function_name="music-generations-GetGenerationFunction"))
    return ClientView(response["statusCode"], response["headers"], json.loads(response["body"]))


def without_signed_urls(body: dict[str, Any]) -> dict[str, Any]:
    """A job's body without what is signed afresh on every request (the URLs and their expiry)."""
    track = body["track"] and {key: value for key, value in body["track"].items() if key != "playback_url"}
    return {key: value for key, value in body.items() if not key.startswith("playback_url")} | {"track": track}
