"""The tests' AWS world: one region, the resource names the functions are given, and a way to forget every
client and setting a previous test made (they are cached per container, as in Lambda)."""

from music_api.access.settings import authorizer_settings
from music_api.core.aws import aws_session, dynamodb_client, s3_bucket_url
from music_api.core.settings import aws_settings
from music_api.creation.handler import engine_cache
from music_api.creation.settings import creation_settings
from music_api.engines.settings import engine_settings
from music_api.generations.settings import generation_settings
from music_local.emulator import REGION

__all__ = ["AUDIO_BUCKET", "AUTH_TABLE", "JOBS_TABLE", "REGION", "reset_aws"]

JOBS_TABLE = "test-music-jobs"
AUTH_TABLE = "test-music-auth"
AUDIO_BUCKET = "test-music-audio"


def reset_aws() -> None:
    """Forget cached settings, session and clients, after a test changed the environment they read."""
    for cached in (
        aws_settings,
        generation_settings,
        authorizer_settings,
        engine_settings,
        creation_settings,
        engine_cache,
        aws_session,
        dynamodb_client,
        s3_bucket_url,
    ):
        cached.cache_clear()
