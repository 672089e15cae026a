"""What the authorizer reads from its environment: the auth table, the one key environment its stage accepts,
and nothing of the jobs side."""

import os
from typing import Annotated

from pydantic import Field

from music_api.authorizer.keys import Environment
from music_api.core.containers import per_container
from music_api.core.settings import AwsSettings


class AuthorizerSettings(AwsSettings):
    auth_table_name: Annotated[str, Field(alias="AUTH_TABLE_NAME", min_length=3, max_length=255)]
    # No default: a stage that does not say which keys it accepts accepts none (template.yaml's ApiKeyEnvironment).
    api_key_environment: Annotated[Environment, Field(alias="API_KEY_ENVIRONMENT")]


@per_container
def authorizer_settings() -> AuthorizerSettings:
    """Validated on first use, once per container."""
    return AuthorizerSettings.model_validate(os.environ)
