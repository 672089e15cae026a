"""What the API returns: the generation job object and the contract's error envelope.

Field order and names follow the contract's examples; keys are always present (``null`` when not applicable).
"""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from music_api.clock import to_utc_z
from music_api.models.job import JobMode, JobStatus

UtcTimestamp = Annotated[
    datetime,
    PlainSerializer(to_utc_z, return_type=str, when_used="json"),
    Field(description="ISO-8601 UTC timestamp with a Z suffix, e.g. 2026-06-28T10:30:00Z."),
]

# Every key is always serialized, so the published JSON Schema lists fields with defaults as required too.
_RESPONSE = ConfigDict(frozen=True, extra="forbid", json_schema_serialization_defaults_required=True)


class TrackSummary(BaseModel):
    """Embedded track summary, present only on a succeeded job."""

    model_config = _RESPONSE

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

    model_config = _RESPONSE

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


class ErrorBody(BaseModel):
    model_config = _RESPONSE

    code: str
    message: str
    system_message: str
    type: str
    status: int
    details: dict[str, str]
    trace_id: str
    timestamp: UtcTimestamp


class ErrorResponse(BaseModel):
    """The contract's error envelope."""

    model_config = _RESPONSE

    success: Literal[False] = False
    error: ErrorBody
