"""What the generation worker reads from its environment (template.yaml gives it exactly these)."""

import os
from typing import Annotated

from pydantic import Field

from music_api.core.containers import per_container
from music_api.core.settings import AwsSettings


class WorkerSettings(AwsSettings):
    jobs_table_name: Annotated[str, Field(alias="JOBS_TABLE_NAME", min_length=3, max_length=255)]
    audio_bucket_name: Annotated[str, Field(alias="AUDIO_BUCKET_NAME", min_length=3, max_length=63)]
    audio_key_prefix: Annotated[str, Field(alias="AUDIO_KEY_PREFIX", pattern=r"^[a-z0-9/_-]*/$")] = "audio/"
    generation_queue_url: Annotated[str, Field(alias="GENERATION_QUEUE_URL", min_length=1, max_length=2048)]
    # The queue's maxReceiveCount: at the last receive a transient error fails the job instead of retrying.
    max_receive_count: Annotated[int, Field(alias="MAX_RECEIVE_COUNT", ge=1, le=1000)] = 5
    # At most one progress write this often (a heartbeat too); a heartbeat alone when no progress was written.
    progress_write_seconds: Annotated[float, Field(alias="PROGRESS_WRITE_SECONDS", gt=0, le=60)] = 2.0
    heartbeat_seconds: Annotated[float, Field(alias="HEARTBEAT_SECONDS", gt=0, le=300)] = 30.0
    # A transient error's message is visible again after this many seconds times its receive count (below the lease).
    retry_backoff_seconds: Annotated[int, Field(alias="RETRY_BACKOFF_SECONDS", ge=0, le=300)] = 30


@per_container
def worker_settings() -> WorkerSettings:
    """Validated on first use, once per container."""
    return WorkerSettings.model_validate(os.environ)
