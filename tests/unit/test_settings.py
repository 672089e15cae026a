"""Settings come from the environment, validated once per function, with safe bounds; each function validates
only what it uses."""

import pytest
from pydantic import ValidationError

from music_api.authorizer.settings import AuthorizerSettings
from music_api.core.aws import sqs_client
from music_api.core.containers import forget_containers
from music_api.dispatch.settings import SweeperSettings
from music_api.jobs.settings import GenerationSettings, generation_settings


def test_defaults_fill_everything_but_the_resource_names() -> None:
    settings = generation_settings()

    assert settings.jobs_table_name == "test-music-jobs"
    assert settings.audio_bucket_name == "test-music-audio"
    assert settings.playback_url_ttl_seconds == 600
    assert settings.audio_key_prefix == "audio/"
    assert settings.aws_max_attempts == 3


def test_settings_are_read_once_per_container(monkeypatch: pytest.MonkeyPatch) -> None:
    first = generation_settings()
    monkeypatch.setenv("PLAYBACK_URL_TTL_SECONDS", "900")

    assert generation_settings() is first
    forget_containers()
    assert generation_settings().playback_url_ttl_seconds == 900


@pytest.mark.parametrize("ttl", ["59", "3601", "ten minutes", "600.5"])
def test_the_url_ttl_must_be_between_60_and_3600_seconds(ttl: str) -> None:
    with pytest.raises(ValidationError):
        GenerationSettings.model_validate(
            {
                "JOBS_TABLE_NAME": "jobs",
                "AUTH_TABLE_NAME": "auth",
                "AUDIO_BUCKET_NAME": "audio",
                "PLAYBACK_URL_TTL_SECONDS": ttl,
            }
        )


@pytest.mark.parametrize("missing", ["JOBS_TABLE_NAME", "AUDIO_BUCKET_NAME"])
def test_resource_names_are_required(missing: str) -> None:
    environment = {"JOBS_TABLE_NAME": "jobs", "AUTH_TABLE_NAME": "auth", "AUDIO_BUCKET_NAME": "audio"}
    del environment[missing]

    with pytest.raises(ValidationError):
        GenerationSettings.model_validate(environment)


def test_the_audio_prefix_must_be_a_folder() -> None:
    with pytest.raises(ValidationError):
        GenerationSettings.model_validate(
            {
                "JOBS_TABLE_NAME": "jobs",
                "AUTH_TABLE_NAME": "auth",
                "AUDIO_BUCKET_NAME": "audio",
                "AUDIO_KEY_PREFIX": "audio",
            }
        )


def test_the_authorizer_needs_only_the_auth_table_and_its_stages_key_environment() -> None:
    settings = AuthorizerSettings.model_validate({"AUTH_TABLE_NAME": "auth", "API_KEY_ENVIRONMENT": "live"})

    assert settings.auth_table_name == "auth"
    assert settings.api_key_environment == "live"
    assert not hasattr(settings, "jobs_table_name")
    assert not hasattr(settings, "audio_bucket_name")
    with pytest.raises(ValidationError):
        AuthorizerSettings.model_validate({"JOBS_TABLE_NAME": "jobs", "AUDIO_BUCKET_NAME": "audio"})


@pytest.mark.parametrize("environment", [None, "", "prod", "LIVE", "live,test"])
def test_the_authorizer_accepts_exactly_one_key_environment(environment: str | None) -> None:
    values = {"AUTH_TABLE_NAME": "auth"} | ({} if environment is None else {"API_KEY_ENVIRONMENT": environment})

    with pytest.raises(ValidationError):
        AuthorizerSettings.model_validate(values)


def test_the_get_endpoint_does_not_need_the_auth_table() -> None:
    settings = GenerationSettings.model_validate({"JOBS_TABLE_NAME": "jobs", "AUDIO_BUCKET_NAME": "audio"})

    assert settings.jobs_table_name == "jobs"


def test_a_send_is_one_bounded_attempt_the_sweeper_stands_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """Create answers 202 whether or not its send worked: a retry would only keep the client waiting."""
    monkeypatch.delenv("AWS_READ_TIMEOUT_SECONDS")  # the production budget, not the tests' allowance for moto
    config = sqs_client().meta.config

    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert config.connect_timeout + config.read_timeout <= 2


def test_the_sweeper_needs_the_table_and_the_queue_and_waits_longer_than_its_grace() -> None:
    names = {"JOBS_TABLE_NAME": "jobs", "GENERATION_QUEUE_URL": "https://sqs.example/queue"}

    settings = SweeperSettings.model_validate(names)

    assert (settings.grace_seconds, settings.max_wait_seconds, settings.max_jobs_per_sweep) == (120, 1800, 1000)
    with pytest.raises(ValidationError, match="GENERATION_QUEUE_URL"):
        SweeperSettings.model_validate({"JOBS_TABLE_NAME": "jobs"})
    with pytest.raises(ValidationError, match="above DISPATCH_GRACE_SECONDS"):
        SweeperSettings.model_validate(names | {"DISPATCH_GRACE_SECONDS": "600", "DISPATCH_MAX_WAIT_SECONDS": "600"})
