"""The generation job as stored in DynamoDB (see docs/data-model.md). Reading an item that does not satisfy
this model is a server-side fault (500), never something to pass on to a client."""

from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field, StrictBool, model_validator

from music_api.core.errors import InternalError
from music_api.core.ids import (
    JOB_ID_MAX_LENGTH,
    JOB_ID_PATTERN,
    ORGANIZATION_ID_PATTERN,
    TRACK_ID_MAX_LENGTH,
    TRACK_ID_PATTERN,
    USER_ID_PATTERN,
    anchored,
)
from music_api.core.stored import STORED_ITEM, StoredNumber, StoredTimestamp


class CorruptJobError(InternalError):
    """A stored job item does not satisfy the stored-item model."""


JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "refused"]
JobMode = Literal["creation", "focus"]
# Field rules shared with the response models (views.py), so docs/openapi.yaml states what reading enforces.
JobId = Annotated[str, Field(pattern=anchored(JOB_ID_PATTERN), max_length=JOB_ID_MAX_LENGTH)]
TrackId = Annotated[str, Field(pattern=anchored(TRACK_ID_PATTERN), max_length=TRACK_ID_MAX_LENGTH)]
EngineKey = Annotated[str, Field(min_length=1, max_length=64)]
TrackTitle = Annotated[str, Field(min_length=1, max_length=300)]
MimeType = Annotated[str, Field(pattern=r"^audio/[a-z0-9.+-]{1,64}$", max_length=len("audio/") + 64)]
LicenceClass = Annotated[str, Field(min_length=1, max_length=64)]
UserSafeText = Annotated[str, Field(max_length=1000)]
AudioKey = Annotated[str, Field(min_length=1, max_length=1024)]
StemName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", max_length=32)]
MAX_STEMS = 16
# What a track's own item states (generation-family.md, "Get a track"): the engine catalogue's four classes.
TrackLicenceClass = Literal["commercial_cleared", "commercial_enterprise", "personal_only", "unclear"]
# The licence classes under which a track may be used commercially: any other class with commercial_use true
# would overstate the licence (generation-family.md: a track never overstates it).
COMMERCIAL_LICENCE_CLASSES = frozenset({"commercial_cleared", "commercial_enterprise"})


class StoredTrack(BaseModel):
    """Track summary embedded in a succeeded job item, plus where its master audio lives in S3.

    The licence flags and stems are what the worker knows of the engine's licence and the stems it made;
    ``None`` for a flag means the worker did not say, and the job writer stores the reading that claims least
    (no commercial use, attribution required)."""

    model_config = STORED_ITEM

    id: TrackId
    title: TrackTitle
    engine: EngineKey
    mode: JobMode
    instrumental: Annotated[bool, Field(strict=True)]
    measured_duration_seconds: Annotated[float, StoredNumber, Field(ge=0, allow_inf_nan=False)]
    mime_type: MimeType
    licence_class: LicenceClass
    audio_key: AudioKey
    commercial_use: StrictBool | None = None
    requires_attribution: StrictBool | None = None
    # Stem name -> its own audio key below the audio prefix (same MIME type as the master).
    stems: Annotated[dict[StemName, AudioKey], Field(max_length=MAX_STEMS)] | None = None

    @model_validator(mode="after")
    def _never_overstates_its_licence(self) -> Self:
        if self.commercial_use and self.licence_class not in COMMERCIAL_LICENCE_CLASSES:
            raise ValueError(f"commercial_use overstates licence class {self.licence_class}")
        return self


class StoredTrackItem(StoredTrack):
    """A track's own item (docs/data-model.md, "Tracks"): written by the job writer's ``succeed`` in the same
    transaction as the job, under its owner's key; the licence flags always stated. ``pk``/``sk`` are checked by
    the repository."""

    organization_id: Annotated[str, Field(pattern=anchored(ORGANIZATION_ID_PATTERN))]
    user_id: Annotated[str, Field(pattern=anchored(USER_ID_PATTERN))]
    job_id: JobId
    created_at: StoredTimestamp
    licence_class: TrackLicenceClass
    commercial_use: StrictBool
    requires_attribution: StrictBool
    stems: Annotated[dict[StemName, AudioKey], Field(max_length=MAX_STEMS)] = {}


class StoredJobSummary(BaseModel):
    """What the list's indexes project of a job item: everything but the track (and the writer's bookkeeping)."""

    model_config = STORED_ITEM

    id: JobId
    organization_id: Annotated[str, Field(pattern=anchored(ORGANIZATION_ID_PATTERN))]
    user_id: Annotated[str, Field(pattern=anchored(USER_ID_PATTERN))]
    status: JobStatus
    progress: Annotated[int, StoredNumber, Field(ge=0, le=100)]
    engine: EngineKey
    mode: JobMode
    created_at: StoredTimestamp
    result_track_id: TrackId | None = None
    error_message: UserSafeText | None = None
    refusal_reason: UserSafeText | None = None


class StoredJob(StoredJobSummary):
    """One item of the jobs table; ``pk``/``sk`` are checked by the repository, not modelled here."""

    track: StoredTrack | None = None

    @model_validator(mode="after")
    def _succeeded_job_carries_its_track(self) -> Self:
        if self.status != "succeeded":
            return self
        if self.track is None:
            raise ValueError("a succeeded job must carry its track")
        if self.result_track_id is not None and self.result_track_id != self.track.id:
            raise ValueError("result_track_id does not match the embedded track")
        return self
