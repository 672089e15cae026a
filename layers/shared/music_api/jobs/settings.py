"""What the routes about jobs (GET, cancel, the list) and the track route read from their environment (template.yaml
gives each exactly these)."""

import os
from typing import Annotated

from pydantic import Field

from music_api.core.containers import per_container
from music_api.core.settings import AwsSettings


class GenerationSettings(AwsSettings):
    jobs_table_name: Annotated[str, Field(alias="JOBS_TABLE_NAME", min_length=3, max_length=255)]
    audio_bucket_name: Annotated[str, Field(alias="AUDIO_BUCKET_NAME", min_length=3, max_length=63)]
    # The function's role may read only below this prefix; a stored key outside it is treated as corrupt.
    audio_key_prefix: Annotated[str, Field(alias="AUDIO_KEY_PREFIX", min_length=1, pattern=r"^[A-Za-z0-9_\-/]+/$")] = (
        "audio/"
    )
    playback_url_ttl_seconds: Annotated[int, Field(alias="PLAYBACK_URL_TTL_SECONDS", ge=60, le=3600)] = 600
    # Polling hints sent as Retry-After while a job is in flight, and when the store is unavailable.
    queued_retry_after_seconds: Annotated[int, Field(alias="QUEUED_RETRY_AFTER_SECONDS", ge=1, le=300)] = 5
    running_retry_after_seconds: Annotated[int, Field(alias="RUNNING_RETRY_AFTER_SECONDS", ge=1, le=300)] = 2
    unavailable_retry_after_seconds: Annotated[int, Field(alias="UNAVAILABLE_RETRY_AFTER_SECONDS", ge=1, le=300)] = 1


@per_container
def generation_settings() -> GenerationSettings:
    """Validated on first use, once per container."""
    return GenerationSettings.model_validate(os.environ)
