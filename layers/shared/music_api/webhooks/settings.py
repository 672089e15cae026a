"""What the webhook functions (and create, for the URL policy) read from their environment."""

import os
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from music_api.core.containers import per_container
from music_api.core.settings import AwsSettings
from music_api.webhooks.retry import MAX_VISIBILITY_SECONDS, RetryPolicy
from music_api.webhooks.url import UrlPolicy


class WebhookUrlSettings(AwsSettings):
    """A live stage delivers over https to public addresses only. Loopback is for the local stack alone, which
    sets WEBHOOK_LOOPBACK_ALLOWED (template.yaml never does: on Lambda, loopback is the runtime API's own port)."""

    api_key_environment: Annotated[Literal["live", "test"], Field(alias="API_KEY_ENVIRONMENT")] = "live"
    webhook_loopback_allowed: Annotated[bool, Field(alias="WEBHOOK_LOOPBACK_ALLOWED")] = False

    @model_validator(mode="after")
    def _never_loopback_on_a_live_stage(self) -> Self:
        if self.webhook_loopback_allowed and self.api_key_environment == "live":
            raise ValueError("WEBHOOK_LOOPBACK_ALLOWED is for a test stage only")
        return self

    def url_policy(self) -> UrlPolicy:
        return UrlPolicy(https_only=self.api_key_environment == "live", loopback=self.webhook_loopback_allowed)


class TriggerSettings(AwsSettings):
    webhook_queue_url: Annotated[str, Field(alias="WEBHOOK_QUEUE_URL", min_length=1, max_length=2048)]


class DeliverySettings(WebhookUrlSettings):
    auth_table_name: Annotated[str, Field(alias="AUTH_TABLE_NAME", min_length=3, max_length=255)]
    webhook_dead_letter_queue_url: Annotated[
        str, Field(alias="WEBHOOK_DEAD_LETTER_QUEUE_URL", min_length=1, max_length=2048)
    ]
    # The queue the function's event source reads: failed attempts wait there (ChangeMessageVisibility).
    webhook_queue_url: Annotated[str, Field(alias="WEBHOOK_QUEUE_URL", min_length=1, max_length=2048)]
    # The retry schedule (docs/architecture.md#completion-webhooks); tests shorten it.
    retry_base_seconds: Annotated[float, Field(alias="WEBHOOK_RETRY_BASE_SECONDS", ge=0, le=3600)] = 10
    retry_max_delay_seconds: Annotated[
        int, Field(alias="WEBHOOK_RETRY_MAX_DELAY_SECONDS", ge=0, le=MAX_VISIBILITY_SECONDS)
    ] = 3 * 3600
    retry_max_age_seconds: Annotated[int, Field(alias="WEBHOOK_RETRY_MAX_AGE_SECONDS", ge=1, le=2 * 86400)] = 86400
    # A receiver has this long, connect to last byte, to answer 2xx.
    timeout_seconds: Annotated[float, Field(alias="WEBHOOK_TIMEOUT_SECONDS", gt=0, le=10)] = 10

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(self.retry_base_seconds, self.retry_max_delay_seconds, self.retry_max_age_seconds)


@per_container
def trigger_settings() -> TriggerSettings:
    return TriggerSettings.model_validate(os.environ)


@per_container
def delivery_settings() -> DeliverySettings:
    return DeliverySettings.model_validate(os.environ)
