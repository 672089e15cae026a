"""Runtime settings: each function validates only what it uses, read from its environment once per container."""

import os
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from music_api.core.containers import per_container

# Field aliases are the environment variable names; the rest of the environment is none of a model's business.
SETTINGS = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


class AwsSettings(BaseModel):
    """What every function's AWS clients need."""

    model_config = SETTINGS

    aws_region: Annotated[str, Field(alias="AWS_REGION", min_length=1)] = "us-east-1"
    # botocore reads it itself; we only need to know whether S3 is an emulator on a bare host (path style).
    aws_endpoint_url: Annotated[str | None, Field(alias="AWS_ENDPOINT_URL")] = None
    # botocore budget: attempts x (connect + read) + backoff must stay well inside the function timeout.
    aws_connect_timeout_seconds: Annotated[float, Field(alias="AWS_CONNECT_TIMEOUT_SECONDS", gt=0, le=10)] = 0.5
    aws_read_timeout_seconds: Annotated[float, Field(alias="AWS_READ_TIMEOUT_SECONDS", gt=0, le=10)] = 1.5
    aws_max_attempts: Annotated[int, Field(alias="AWS_MAX_ATTEMPTS", ge=1, le=5)] = 3


@per_container
def aws_settings() -> AwsSettings:
    """Validated on first use, once per container (tests forget it with ``forget_containers()``)."""
    return AwsSettings.model_validate(os.environ)
