"""One event per terminal transition of a job that asked for one, read from the jobs table's stream.

A DynamoDB stream record carries the item before and after a write (NEW_AND_OLD_IMAGES); a transition is a
record whose old image has a status that is not terminal and whose new image has one. The job writer writes
each transition once (a repeat writes nothing), so each has one record; the stream delivers it at least once,
and the event's id, derived from the job and its terminal status, is the same however often it comes.
"""

import hashlib
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from music_api.core.clock import to_utc_z
from music_api.core.dynamodb import from_item
from music_api.core.envelope import RESPONSE, UtcTimestamp
from music_api.jobs.models import JobStatus
from music_api.jobs.store import to_job
from music_api.jobs.views import WebhookGenerationJob, webhook_view
from music_api.jobs.writer import TERMINAL_STATUSES, LifecycleJob
from music_api.webhooks.url import MAX_URL_LENGTH

type EventType = Literal["generation.succeeded", "generation.failed", "generation.cancelled", "generation.refused"]
EVENT_TYPES: Final[dict[JobStatus, EventType]] = {
    "succeeded": "generation.succeeded",
    "failed": "generation.failed",
    "cancelled": "generation.cancelled",
    "refused": "generation.refused",
}
EVENT_ID_PATTERN: Final = r"^evt_[0-9a-f]{32}$"


class WebhookEvent(BaseModel):
    """What a receiver gets: the Standard Webhooks envelope around the job as GET shows it, without the
    short-lived playback URL (GET the job for a fresh one)."""

    model_config = RESPONSE

    type: Annotated[EventType, Field(description="generation.<the job's terminal status>")]
    timestamp: Annotated[UtcTimestamp, Field(description="When the job ended.")]
    data: WebhookGenerationJob


class WebhookMessage(BaseModel):
    """What the trigger queues for the delivery function: everything one delivery needs, its body already
    serialized, so that every attempt sends (and signs) the same bytes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=EVENT_ID_PATTERN)]
    type: EventType
    organization_id: Annotated[str, Field(min_length=1, max_length=64)]
    job_id: Annotated[str, Field(min_length=1, max_length=64)]
    url: Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH)]
    body: Annotated[str, Field(min_length=2, max_length=65536)]


def event_id(organization_id: str, user_id: str, job_id: str, status: JobStatus) -> str:
    """Stable across the stream's and the queue's repeats: a receiver deduplicates on it (``webhook-id``)."""
    digest = hashlib.sha256(f"{organization_id}/{user_id}/{job_id}/{status}".encode()).hexdigest()
    return f"evt_{digest[:32]}"


def event_body(event_type: EventType, job: LifecycleJob) -> str:
    """The event's JSON: serialized once, so that every attempt sends (and signs) the same bytes."""
    moment = job.finished_at or job.updated_at or job.created_at
    return WebhookEvent(type=event_type, timestamp=to_utc_z(moment), data=webhook_view(job)).model_dump_json()


def transition_message(record: Mapping[str, Any]) -> WebhookMessage | None:
    """The event a stream record stands for, or ``None``: not a job's terminal transition, or no webhook."""
    if record.get("eventName") != "MODIFY":
        return None
    images = record.get("dynamodb") or {}
    old, new = images.get("OldImage") or {}, images.get("NewImage") or {}
    if not str(new.get("sk", {}).get("S", "")).startswith("JOB#"):
        return None
    status = new.get("status", {}).get("S")
    if status not in TERMINAL_STATUSES or old.get("status", {}).get("S") in TERMINAL_STATUSES:
        return None
    url = new.get("request", {}).get("M", {}).get("webhook_url", {}).get("S")
    if not url:
        return None
    values = from_item(new)
    job = to_job(new, str(values["organization_id"]), str(values["user_id"]), str(values["id"]), LifecycleJob)
    event_type = EVENT_TYPES[job.status]
    return WebhookMessage(
        id=event_id(job.organization_id, job.user_id, job.id, job.status),
        type=event_type,
        organization_id=job.organization_id,
        job_id=job.id,
        url=url,
        body=event_body(event_type, job),
    )
