"""Runtime settings: one pydantic model read from environment variables and validated once per container."""

import os
from functools import cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """What the functions need from their environment. Field aliases are the environment variable names."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    aws_region: Annotated[str, Field(alias="AWS_REGION", min_length=1)] = "us-east-1"
    # botocore reads it itself; we only need to know whether S3 is an emulator on a bare host (path style).
    aws_endpoint_url: Annotated[str | None, Field(alias="AWS_ENDPOINT_URL")] = None
    jobs_table_name: Annotated[str, Field(alias="JOBS_TABLE_NAME", min_length=3, max_length=255)]
    audio_bucket_name: Annotated[str, Field(alias="AUDIO_BUCKET_NAME", min_length=3, max_length=63)]
    auth_table_name: Annotated[str, Field(alias="AUTH_TABLE_NAME", min_length=3, max_length=255)]
    # The function's role may read only below this prefix; a stored key outside it is treated as corrupt.
    audio_key_prefix: Annotated[str, Field(alias="AUDIO_KEY_PREFIX", min_length=1, pattern=r"^[A-Za-z0-9_\-/]+/$")] = (
        "audio/"
    )
    playback_url_ttl_seconds: Annotated[int, Field(alias="PLAYBACK_URL_TTL_SECONDS", ge=60, le=3600)] = 600
    # Polling hints sent as Retry-After while a job is in flight, and when the store is unavailable.
    queued_retry_after_seconds: Annotated[int, Field(alias="QUEUED_RETRY_AFTER_SECONDS", ge=1, le=300)] = 5
    running_retry_after_seconds: Annotated[int, Field(alias="RUNNING_RETRY_AFTER_SECONDS", ge=1, le=300)] = 2
    unavailable_retry_after_seconds: Annotated[int, Field(alias="UNAVAILABLE_RETRY_AFTER_SECONDS", ge=1, le=300)] = 1
    # botocore budget: attempts x (connect + read) + backoff must stay well inside the function timeout.
    aws_connect_timeout_seconds: Annotated[float, Field(alias="AWS_CONNECT_TIMEOUT_SECONDS", gt=0, le=10)] = 0.5
    aws_read_timeout_seconds: Annotated[float, Field(alias="AWS_READ_TIMEOUT_SECONDS", gt=0, le=10)] = 1.5
    aws_max_attempts: Annotated[int, Field(alias="AWS_MAX_ATTEMPTS", ge=1, le=5)] = 3


@cache
def get_settings() -> Settings:
    """The settings of this container, validated on first use (tests call ``get_settings.cache_clear()``)."""
    return Settings.model_validate(os.environ)
