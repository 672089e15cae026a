"""The generation job as the API returns it.

Unknown fields are kept (``model_extra``) rather than refused, so that a server that adds a field does not break
deployed clients; an unknown ``status`` stays a plain string and counts as still in flight.
"""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from pydantic import ValidationError as ModelValidationError

from freddy_music.errors import UnexpectedResponseError


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUSED = "refused"


TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.REFUSED})

_LENIENT = ConfigDict(extra="allow")


class Track(BaseModel):
    """The embedded track summary of a succeeded job."""

    model_config = _LENIENT

    id: str
    title: str
    engine: str
    mode: str
    instrumental: bool
    measured_duration_seconds: float
    mime_type: str
    licence_class: str
    playback_url: str


class GenerationJob(BaseModel):
    """A music generation job: every field of the contract, plus ``playback_url_expires_at``."""

    model_config = _LENIENT

    id: str
    status: JobStatus | str = Field(union_mode="left_to_right")
    progress: int
    engine: str
    mode: str
    created_at: datetime
    result_track_id: str | None = None
    error_message: str | None = None
    refusal_reason: str | None = None
    playback_url: str | None = None
    playback_url_expires_at: datetime | None = None  # our addition to the contract: when playback_url stops working
    track: Track | None = None

    # Where the job was read from, so that a download can fetch it again for a fresh playback URL.
    _organization_id: str | None = PrivateAttr(default=None)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_api(cls, body: object, organization_id: str) -> "GenerationJob":
        try:
            job = cls.model_validate(body)
        except ModelValidationError as error:
            raise UnexpectedResponseError(f"the answer is not a generation job: {error}") from error
        job._organization_id = organization_id
        return job


class GenerationJobPage(BaseModel):
    """A page of the list: the jobs carry no playback URL or track (``generations.get`` one for those)."""

    model_config = _LENIENT

    jobs: list[GenerationJob]
    limit: int
    offset: int

    @classmethod
    def from_api(cls, body: object, organization_id: str) -> "GenerationJobPage":
        try:
            page = cls.model_validate(body)
        except ModelValidationError as error:
            raise UnexpectedResponseError(f"the answer is not a page of jobs: {error}") from error
        for job in page.jobs:
            job._organization_id = organization_id
        return page


class MusicTrack(BaseModel):
    """A track the caller generated (``tracks.get``): its licence, and signed URLs for the master and each stem,
    minted on every request and working at least until ``playback_url_expires_at``."""

    model_config = _LENIENT

    id: str
    title: str
    engine: str
    mode: str
    measured_duration_seconds: float
    instrumental: bool
    licence_class: str
    commercial_use: bool
    requires_attribution: bool
    mime_type: str
    created_at: datetime
    playback_url: str
    playback_url_expires_at: datetime | None = None
    stem_urls: dict[str, str] = Field(default_factory=dict)  # stem name -> signed URL; empty without stems

    # Where the track was read from, so that a download can fetch it again for fresh URLs.
    _organization_id: str | None = PrivateAttr(default=None)

    @classmethod
    def from_api(cls, body: object, organization_id: str) -> "MusicTrack":
        try:
            track = cls.model_validate(body)
        except ModelValidationError as error:
            raise UnexpectedResponseError(f"the answer is not a track: {error}") from error
        track._organization_id = organization_id
        return track


def organization_of(item: GenerationJob | MusicTrack) -> str | None:
    """The organization a job or track was read from through a client; None for one built by hand."""
    return item._organization_id
