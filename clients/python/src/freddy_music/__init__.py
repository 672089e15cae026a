"""Python client for the Freddy music generations API (``/v1/music/{organization_id}/generations``).

from freddy_music import Client

client = Client()  # $FREDDY_API_KEY, and $FREDDY_BASE_URL or the public API
job = client.generations.create("org_abc123", engine="studio", prompt="calm piano", duration_seconds=30)
job = client.generations.wait("org_abc123", job.id, timeout=300)
client.download(job, "track.mp3")
"""

from freddy_music._version import __version__
from freddy_music.async_client import AsyncClient, AsyncGenerations, AsyncTracks
from freddy_music.client import Client, Generations, Tracks
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
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServiceUnavailableError,
    UnexpectedResponseError,
    ValidationError,
    WaitTimeoutError,
)
from freddy_music.models import GenerationJob, JobStatus, MusicTrack, Track
from freddy_music.webhooks import WebhookVerificationError, verify

__all__ = [
    "APIConnectionError",
    "APIError",
    "AsyncClient",
    "AsyncGenerations",
    "AsyncTracks",
    "AuthenticationError",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "DownloadError",
    "FreddyMusicError",
    "GenerationJob",
    "Generations",
    "IdempotencyKeyInUseError",
    "IdempotencyKeyReusedError",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobRefusedError",
    "JobStatus",
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
