"""What POST /generations reads from its environment (template.yaml gives it exactly these)."""

import os
from typing import Annotated

from pydantic import Field

from music_api.core.containers import per_container
from music_api.webhooks.settings import WebhookUrlSettings


class CreationSettings(WebhookUrlSettings):
    jobs_table_name: Annotated[str, Field(alias="JOBS_TABLE_NAME", min_length=3, max_length=255)]
    # Where each new job's message goes (one per job, its key only); never shown to a client.
    generation_queue_url: Annotated[str, Field(alias="GENERATION_QUEUE_URL", min_length=1, max_length=2048)]
    # How long a container trusts the catalogue it read: an operator's change reaches create within this.
    engine_cache_seconds: Annotated[float, Field(alias="ENGINE_CACHE_SECONDS", ge=0, le=300)] = 30
    # The first poll of a new job: as GET's Retry-After for a queued job.
    queued_retry_after_seconds: Annotated[int, Field(alias="QUEUED_RETRY_AFTER_SECONDS", ge=1, le=300)] = 5
    unavailable_retry_after_seconds: Annotated[int, Field(alias="UNAVAILABLE_RETRY_AFTER_SECONDS", ge=1, le=300)] = 1
    # Idempotency records (creation/idempotency.py): their table, and how long a key answers with its first job.
    idempotency_table_name: Annotated[str, Field(alias="IDEMPOTENCY_TABLE_NAME", min_length=3, max_length=255)]
    idempotency_key_ttl_seconds: Annotated[int, Field(alias="IDEMPOTENCY_KEY_TTL_SECONDS", ge=60, le=7 * 86400)] = 86400


@per_container
def creation_settings() -> CreationSettings:
    """Validated on first use, once per container."""
    return CreationSettings.model_validate(os.environ)
