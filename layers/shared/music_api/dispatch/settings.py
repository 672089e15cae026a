"""What the dispatch sweeper reads from its environment (template.yaml gives it exactly these)."""

import os
from typing import Annotated, Self

from pydantic import Field, model_validator

from music_api.core.containers import per_container
from music_api.core.settings import AwsSettings


class SweeperSettings(AwsSettings):
    jobs_table_name: Annotated[str, Field(alias="JOBS_TABLE_NAME", min_length=3, max_length=255)]
    generation_queue_url: Annotated[str, Field(alias="GENERATION_QUEUE_URL", min_length=1, max_length=2048)]
    # A job queued this long since its last message is sent again (then after twice as long, four times, ...).
    grace_seconds: Annotated[int, Field(alias="DISPATCH_GRACE_SECONDS", ge=1, le=3600)] = 120
    # A job no worker started this long after its creation is failed: nothing stays queued forever.
    max_wait_seconds: Annotated[int, Field(alias="DISPATCH_MAX_WAIT_SECONDS", ge=1, le=86400)] = 1800
    # A running job whose heartbeat is this old is failed: above the worker function's timeout (no invocation that
    # beat that long ago is alive) plus a sweep (docs/architecture.md, "No job stays running").
    running_lease_seconds: Annotated[int, Field(alias="RUNNING_LEASE_SECONDS", ge=60, le=86400)] = 360
    # Bounds one sweep's work (and time): the oldest jobs first, the rest at the next sweep.
    max_jobs_per_sweep: Annotated[int, Field(alias="DISPATCH_MAX_JOBS_PER_SWEEP", ge=1, le=10000)] = 1000

    @model_validator(mode="after")
    def _the_wait_outlasts_the_grace(self) -> Self:
        if self.max_wait_seconds <= self.grace_seconds:
            raise ValueError("DISPATCH_MAX_WAIT_SECONDS must be above DISPATCH_GRACE_SECONDS")
        return self


@per_container
def sweeper_settings() -> SweeperSettings:
    """Validated on first use, once per container."""
    return SweeperSettings.model_validate(os.environ)
