"""What GET /generations/{job_id} returns: the generation job object.

Field order and names follow the contract's examples; keys are always present (``null`` when not applicable).
Field rules are the stored model's (stored.py), so the published schema holds what reading a job enforces.
"""

from typing import Annotated

from pydantic import BaseModel, Field

from music_api.core.envelope import RESPONSE, UtcTimestamp
from music_api.generations.stored import (
    EngineKey,
    JobId,
    JobMode,
    JobStatus,
    LicenceClass,
    MimeType,
    TrackId,
    TrackTitle,
    UserSafeText,
)

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
