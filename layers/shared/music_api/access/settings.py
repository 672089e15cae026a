"""What the authorizer reads from its environment: the auth table and nothing of the jobs side."""

import os
from functools import cache
from typing import Annotated

from pydantic import Field

from music_api.core.settings import AwsSettings


class AuthorizerSettings(AwsSettings):
    auth_table_name: Annotated[str, Field(alias="AUTH_TABLE_NAME", min_length=3, max_length=255)]


@cache
def authorizer_settings() -> AuthorizerSettings:
    """Validated on first use, once per container."""
    return AuthorizerSettings.model_validate(os.environ)
