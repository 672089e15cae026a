"""Python client for the Freddy music generations API (``/v1/music/{organization_id}/generations``).

from freddy_music import Client

client = Client()  # $FREDDY_API_KEY, and $FREDDY_BASE_URL or the public API
job = client.generations.create_and_wait(
    "org_abc123", engine="studio", prompt="calm piano", duration_seconds=30, timeout=300, output="track.mp3"
)
"""

from freddy_music._version import __version__
from freddy_music.async_client import AsyncClient, AsyncEngines, AsyncGenerations, AsyncJobListing, AsyncTracks
from freddy_music.client import Client, Engines, Generations, Tracks
from freddy_music.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    DownloadError,
    FreddyMusicError,
    IdempotencyKeyInUseError,
    IdempotencyKeyReusedError,
    JobCancelledError,
    JobError,
    JobFailedError,
    JobRefusedError,
    MissingAPIKeyError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServiceUnavailableError,
    UnexpectedResponseError,
    ValidationError,
    WaitTimeoutError,
)
from freddy_music.models import Engine, GenerationJob, GenerationJobPage, JobStatus, MusicTrack, Track
from freddy_music.webhooks import WebhookVerificationError, verify

__all__ = [
    "APIConnectionError",
    "APIError",
    "AsyncClient",
    "AsyncEngines",
    "AsyncGenerations",
    "AsyncJobListing",
    "AsyncTracks",
    "AuthenticationError",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "DownloadError",
    "Engine",
    "Engines",
    "FreddyMusicError",
    "GenerationJob",
    "GenerationJobPage",
    "Generations",
    "IdempotencyKeyInUseError",
    "IdempotencyKeyReusedError",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobRefusedError",
    "JobStatus",
    "MissingAPIKeyError",
    "MusicTrack",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "ServiceUnavailableError",
    "Track",
    "Tracks",
    "UnexpectedResponseError",
    "ValidationError",
    "WaitTimeoutError",
    "WebhookVerificationError",
    "__version__",
    "verify",
]
