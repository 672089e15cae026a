"""What GET /generations/{job_id} returns: the generation job object.

Field order and names follow the contract's examples; keys are always present (``null`` when not applicable).
"""

from typing import Annotated

from pydantic import BaseModel, Field

from music_api.core.envelope import RESPONSE, UtcTimestamp
from music_api.generations.stored import JobMode, JobStatus


class TrackSummary(BaseModel):
    """Embedded track summary, present only on a succeeded job."""

    model_config = RESPONSE

    id: Annotated[str, Field(description="Track id (mtrack_-prefixed).")]
    title: str
    engine: str
    mode: JobMode
    instrumental: bool
    measured_duration_seconds: float
    mime_type: str
    licence_class: str
    playback_url: Annotated[str, Field(description="Short-TTL signed URL for the master audio.")]


class GenerationJob(BaseModel):
    """A music generation job object."""

    model_config = RESPONSE

    id: Annotated[str, Field(description="Job id (mgen_-prefixed).")]
    status: JobStatus
    progress: Annotated[int, Field(ge=0, le=100, description="Generation progress, 0-100.")]
    engine: Annotated[str, Field(description="Internal engine key the job targets.")]
    mode: JobMode
    created_at: UtcTimestamp
    result_track_id: str | None
    error_message: Annotated[str | None, Field(description="User-safe error description when failed.")]
    refusal_reason: Annotated[str | None, Field(description="Why the request was refused.")]
    playback_url: Annotated[
        str | None, Field(description="Short-TTL signed URL for the master audio; null unless succeeded.")
    ]
    playback_url_expires_at: Annotated[
        UtcTimestamp | None, Field(description="When playback_url stops working; null unless succeeded.")
    ]
    track: TrackSummary | None
