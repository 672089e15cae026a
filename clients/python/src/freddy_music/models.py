"""The generation job as the API returns it.

Unknown fields are kept (``model_extra``) rather than refused, so that a server that adds a field does not break
deployed clients; an unknown ``status`` stays a plain string and counts as still in flight.
"""

from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Self

import httpx
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from pydantic import ValidationError as ModelValidationError

from freddy_music.errors import UnexpectedResponseError

# The list's largest offset: the API answers 400 beyond it (a deeper page would cost a read of every job before it).
MAX_LIST_OFFSET = 1000


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUSED = "refused"


TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.REFUSED})

_LENIENT = ConfigDict(extra="allow")


class APIObject(BaseModel):
    """What an answer of the API was read into: its fields, plus the HTTP answer it came in (``response``:
    status, headers, the JSON as it came) and the organization it was read from."""

    model_config = _LENIENT

    _response: httpx.Response | None = PrivateAttr(default=None)
    # Where it was read from, so that a download can fetch it again for a fresh URL.
    _organization_id: str | None = PrivateAttr(default=None)

    @property
    def response(self) -> httpx.Response | None:
        """The HTTP answer this was read from (already read: ``.headers``, ``.status_code``, ``.json()``); None
        for an object built by hand."""
        return self._response

    @property
    def request_id(self) -> str | None:
        """The answer's ``X-Request-Id`` (the error envelope's ``trace_id``): quote it when reporting a problem."""
        return None if self._response is None else self._response.headers.get("X-Request-Id")

    @classmethod
    def from_api(cls, body: object, organization_id: str, response: httpx.Response | None = None) -> Self:
        try:
            item = cls.model_validate(body)
        except ModelValidationError as error:
            raise UnexpectedResponseError(f"the answer is not {cls._what}: {error}") from error
        item._read_from(organization_id, response)
        return item

    def _read_from(self, organization_id: str, response: httpx.Response | None) -> None:
        self._organization_id = organization_id
        self._response = response

    _what: ClassVar[str] = "what was expected"


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


class GenerationJob(APIObject):
    """A music generation job: every field of the contract, plus ``playback_url_expires_at``."""

    _what: ClassVar[str] = "a generation job"

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

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class GenerationJobPage(APIObject):
    """A page of the list: the jobs carry no playback URL or track (``generations.get`` one for those)."""

    _what: ClassVar[str] = "a page of jobs"

    jobs: list[GenerationJob]
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        """The offset of the next page; None after a short page (the last), or when the next page would lie
        beyond the API's largest offset (``MAX_LIST_OFFSET``)."""
        following = self.offset + self.limit
        return None if len(self.jobs) < self.limit or following > MAX_LIST_OFFSET else following

    def _read_from(self, organization_id: str, response: httpx.Response | None) -> None:
        super()._read_from(organization_id, response)
        for job in self.jobs:
            job._read_from(organization_id, response)


class MusicTrack(APIObject):
    """A track the caller generated (``tracks.get``): its licence, and signed URLs for the master and each stem,
    minted on every request and working at least until ``playback_url_expires_at``."""

    _what: ClassVar[str] = "a track"

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


class Engine(APIObject):
    """An engine of the catalogue (``engines.list``): the key a create names, and what it can do."""

    _what: ClassVar[str] = "an engine"

    key: str
    max_duration_seconds: int
    vocals: bool
    lyrics: bool
    stems: bool
    languages: list[str]
    licence_class: str
    commercial_use: bool
    requires_attribution: bool


class EngineList(APIObject):
    """The answer of ``GET /engines``: the enabled engines, sorted by key."""

    _what: ClassVar[str] = "a list of engines"

    engines: list[Engine]

    def _read_from(self, organization_id: str, response: httpx.Response | None) -> None:
        super()._read_from(organization_id, response)
        for engine in self.engines:
            engine._read_from(organization_id, response)


def organization_of(item: APIObject) -> str | None:
    """The organization a job or track was read from through a client; None for one built by hand."""
    return item._organization_id
