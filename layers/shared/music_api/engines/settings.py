"""What GET /engines reads from its environment (template.yaml gives it exactly this)."""

import os
from typing import Annotated

from pydantic import Field

from music_api.core.containers import per_container
from music_api.core.settings import AwsSettings


class EngineSettings(AwsSettings):
    jobs_table_name: Annotated[str, Field(alias="JOBS_TABLE_NAME", min_length=3, max_length=255)]
    unavailable_retry_after_seconds: Annotated[int, Field(alias="UNAVAILABLE_RETRY_AFTER_SECONDS", ge=1, le=300)] = 1


@per_container
def engine_settings() -> EngineSettings:
    """Validated on first use, once per container."""
    return EngineSettings.model_validate(os.environ)
