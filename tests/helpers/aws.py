"""The tests' AWS world: one region, the resource names the functions are given, a way to forget every
client and setting a previous test made (they are cached per container, as in Lambda), and keys made as the
operator CLI makes them."""

from functools import cache

import botocore.loaders
import botocore.session

from music_admin.auth_store import AuthRepository
from music_admin.keys import generate_key
from music_admin.usage_plans import MeteredKeys
from music_api.authorizer.keys import Environment
from music_api.core.containers import forget_containers
from music_local.emulator import REGION, LocalAws

__all__ = [
    "AUDIO_BUCKET",
    "AUTH_TABLE",
    "DEAD_LETTER_QUEUE",
    "GENERATION_QUEUE",
    "IDEMPOTENCY_TABLE",
    "JOBS_TABLE",
    "REGION",
    "issue_key",
    "reset_aws",
    "share_botocore_models",
]

JOBS_TABLE = "test-music-jobs"
AUTH_TABLE = "test-music-auth"
AUDIO_BUCKET = "test-music-audio"
IDEMPOTENCY_TABLE = "test-music-idempotency"
GENERATION_QUEUE = "test-music-generations"
DEAD_LETTER_QUEUE = "test-music-generations-dlq"


def reset_aws() -> None:
    """Forget cached settings, session and clients, after a test changed the environment they read: every cache
    of the layer registers itself (``music_api.core.containers.per_container``)."""
    forget_containers()


def share_botocore_models() -> None:
    """One botocore loader for the whole test run. A new container's session (every test's, after ``reset_aws``)
    would otherwise parse each service's JSON model again: 190 ms of a session and three clients, 27 ms with the
    models already read. The loader only caches read-only data, so sharing it changes no request."""
    botocore.session.create_loader = cache(botocore.loaders.create_loader)  # Session's data_loader component


def issue_key(
    aws: LocalAws, user_id: str, environment: Environment = "test", repository: AuthRepository | None = None
) -> str:
    """A new key of ``user_id`` with its gateway key in the default plan, as ``music-api-admin key create`` makes
    it (through ``repository``, by default the administrator's); returns the key, as the CLI prints it."""
    key = generate_key(environment)
    MeteredKeys(repository or aws.auth, aws.usage_plans).issue(user_id, key, environment, aws.default_usage_plan)
    return key
