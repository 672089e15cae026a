"""What clients see of a job: the generation job object (GET, cancel, create, the list) and a webhook event's job,
as models and as the views that build them from the stored job.

Field order and names follow the contract's examples; keys are always present (``null`` when not applicable).
Field rules are the stored model's (models.py), so the published schema holds what reading a job enforces.
"""

from typing import Annotated

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, Field

from music_api.core.envelope import RESPONSE, UtcTimestamp
from music_api.core.observability import logger, metrics
from music_api.core.route import Answer
from music_api.jobs.models import (
    EngineKey,
    JobId,
    JobMode,
    JobStatus,
    LicenceClass,
    MimeType,
    StoredJob,
    StoredJobSummary,
    TrackId,
    TrackTitle,
    UserSafeText,
)
from music_api.jobs.settings import GenerationSettings
from music_api.jobs.signer import PlaybackUrlSigner

# A SigV4 URL with a session token is about 1.5 KB; S3 refuses requests whose headers exceed 8 KB.
PlaybackUrl = Annotated[str, Field(min_length=1, max_length=8192, json_schema_extra={"format": "uri"})]


class WebhookTrackSummary(BaseModel):
    """The track summary a webhook event carries: the job's track without its playback URL."""

    model_config = RESPONSE

    id: Annotated[TrackId, Field(description="Track id (mtrack_-prefixed).")]
    title: TrackTitle
    engine: EngineKey
    mode: JobMode
    instrumental: bool
    measured_duration_seconds: Annotated[float, Field(ge=0)]
    mime_type: MimeType
    licence_class: LicenceClass


class TrackSummary(WebhookTrackSummary):
    """Embedded track summary, present only on a succeeded job."""

    playback_url: Annotated[PlaybackUrl, Field(description="Short-TTL signed URL for the master audio.")]


class _JobFields(BaseModel):
    """The fields GET's job and a webhook event's job share, in the contract's order."""

    model_config = RESPONSE

    id: Annotated[JobId, Field(description="Job id (mgen_-prefixed).")]
    status: JobStatus
    progress: Annotated[int, Field(ge=0, le=100, description="Generation progress, 0-100.")]
    engine: Annotated[EngineKey, Field(description="Internal engine key the job targets.")]
    mode: JobMode
    created_at: UtcTimestamp
    result_track_id: TrackId | None
    error_message: Annotated[UserSafeText | None, Field(description="User-safe error description when failed.")]
    refusal_reason: Annotated[UserSafeText | None, Field(description="Why the request was refused.")]


class GenerationJob(_JobFields):
    """A music generation job object."""

    playback_url: Annotated[
        PlaybackUrl | None, Field(description="Short-TTL signed URL for the master audio; null unless succeeded.")
    ]
    playback_url_expires_at: Annotated[
        UtcTimestamp | None, Field(description="When playback_url stops working; null unless succeeded.")
    ]
    track: TrackSummary | None


class WebhookGenerationJob(_JobFields):
    """The job a webhook event carries: the generation job object without ``playback_url`` and
    ``playback_url_expires_at`` (GET the job for a freshly signed URL)."""

    track: WebhookTrackSummary | None


# The job's track summary; the track route (music_api.routes.get_track) answers the rest (licence flags, stems).
_TRACK_SUMMARY_FIELDS = set(TrackSummary.model_fields) - {"playback_url"}
_PUBLIC_JOB_FIELDS = {"id", "status", "progress", "engine", "mode", "created_at", "error_message", "refusal_reason"}


def public_view(job: StoredJob, signer: PlaybackUrlSigner) -> GenerationJob:
    """The job as GET and cancel answer it: stored fields by name (the models share them); URL and track only
    for a succeeded job."""
    common = job.model_dump(include=_PUBLIC_JOB_FIELDS)
    if job.status != "succeeded" or job.track is None:
        return GenerationJob(
            **common,
            result_track_id=job.result_track_id,
            playback_url=None,
            playback_url_expires_at=None,
            track=None,
        )
    signed = signer.sign(job.track)
    return GenerationJob(
        **common,
        result_track_id=job.track.id,
        playback_url=signed.url,
        playback_url_expires_at=signed.expires_at,
        track=TrackSummary(**job.track.model_dump(include=_TRACK_SUMMARY_FIELDS), playback_url=signed.url),
    )


def list_view(job: StoredJobSummary) -> GenerationJob:
    """The job as the list answers it, without anything minted per request: the list never signs a URL."""
    return GenerationJob(
        **job.model_dump(exclude={"organization_id", "user_id"}),
        playback_url=None,
        playback_url_expires_at=None,
        track=None,
    )


def queued_view(job: StoredJobSummary) -> GenerationJob:
    """The job as create answers it (new: queued): no track, no URL; GET mints those."""
    return GenerationJob(
        **job.model_dump(include={"id", "status", "progress", "engine", "mode", "created_at"}),
        result_track_id=None,
        error_message=None,
        refusal_reason=None,
        playback_url=None,
        playback_url_expires_at=None,
        track=None,
    )


def webhook_view(job: StoredJob) -> WebhookGenerationJob:
    """The job as a webhook event carries it: GET's view without the playback URL and its expiry, which would
    be stale by the time a retry arrives (the receiver GETs the job for a fresh one)."""
    common = job.model_dump(include=_PUBLIC_JOB_FIELDS)
    if job.status != "succeeded" or job.track is None:
        return WebhookGenerationJob(**common, result_track_id=job.result_track_id, track=None)
    return WebhookGenerationJob(
        **common,
        result_track_id=job.track.id,
        track=WebhookTrackSummary(**job.track.model_dump(include=_TRACK_SUMMARY_FIELDS)),
    )


def job_answer(result: tuple[StoredJob, GenerationJob], settings: GenerationSettings) -> Answer:
    """How the routes about one job (GET, cancel) answer: the job, with a polling hint while it is in flight."""
    job, body = result
    metrics.add_dimension(name="status", value=job.status)
    metrics.add_metric(name="GenerationJobReturned", unit=MetricUnit.Count, value=1)
    # DEBUG: one line per poll at INFO would cost more CPU than the rest of the handler's own work
    # (docs/performance.md); errors are logged at INFO and above, and Lambda's REPORT line counts requests.
    logger.debug(
        "Generation job returned",
        extra={"status": job.status, "playback_url_expires_at": body.playback_url_expires_at},
    )
    retry_after = None
    if job.status == "queued":
        retry_after = settings.queued_retry_after_seconds
    elif job.status == "running":
        retry_after = settings.running_retry_after_seconds
    return Answer(200, body, retry_after_seconds=retry_after)
