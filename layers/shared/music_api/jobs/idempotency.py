"""One job per idempotency key: Powertools' Idempotency utility around create's "engine rules + create job" step.

A record in the idempotency table (its own, with a TTL) is keyed by a SHA-256 of organization + user + key, so
a key is the caller's own: the same key from another user or organization is another record. The record holds
a hash of the normalized body without the key (defaults filled in, so ``"mode": "creation"`` sent or left out
is the same request), and the job as first answered. Powertools writes the record ``INPROGRESS`` before the
step runs (a conditional write: of racing requests exactly one runs it), ``COMPLETED`` with the job after it,
and deletes it when the step raises, so a failed attempt (a 422, a 503) leaves the key free for the retry. An
attempt that dies without either (a timeout) holds the key until the invocation's own deadline passes.

Only create's function imports this module (tests/unit/test_layout.py): its cost is on create's cold start only.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.aws import dynamodb_client
from music_api.core.containers import per_container
from music_api.core.dynamodb import StoreUnavailableError
from music_api.core.errors import IdempotencyKeyInUseError, IdempotencyKeyReusedError
from music_api.jobs.create import CreateGenerationRequest, creation_settings
from music_api.jobs.views import GenerationJob

# Records are named by what they guard, not by the function's deployed name: a redeploy keeps every key.
RECORD_PREFIX: Final = "create-generation"


@dataclass(frozen=True, slots=True)
class CreatedJob:
    job: GenerationJob
    replayed: bool  # answered from a completed record: nothing was created by this request


@dataclass(frozen=True)
class IdempotentCreate:
    """Powertools' configuration and the wrapped step, built once per container (as Lambda reuses it)."""

    config: IdempotencyConfig
    run_once: Callable[..., GenerationJob | CreatedJob]


def create_once(
    request: CreateGenerationRequest, context: LambdaContext, create: Callable[[], GenerationJob]
) -> CreatedJob:
    """``create()``'s job, or, for a key that already created one from the same body, that job replayed.

    Without a key every request runs ``create()``, and no record is written."""
    key = request.idempotency_key
    if key is None:
        return CreatedJob(create(), replayed=False)
    idempotent = idempotent_create()
    # The in-progress record expires with this invocation: a container that dies mid-create frees the key then.
    idempotent.config.register_lambda_context(context)
    body = request.body.model_dump(mode="json", exclude={"idempotency_key"})
    try:
        result = idempotent.run_once(request={"scope": request.idempotency_scope(key), "body": body}, create=create)
    except IdempotencyAlreadyInProgressError:
        raise IdempotencyKeyInUseError(key.field) from None
    except IdempotencyValidationError:
        raise IdempotencyKeyReusedError(key.field) from None
    except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as exc:
        # Retrying with the same key is safe whatever went wrong: that is what the key is for.
        raise StoreUnavailableError("idempotency table failed") from exc
    return result if isinstance(result, CreatedJob) else CreatedJob(result, replayed=False)


def _replayed(response: GenerationJob, idempotent_data: DataRecord) -> CreatedJob:
    """Powertools' response hook (its parameter names): called only for an answer read from a completed record."""
    return CreatedJob(response, replayed=True)


def _run(*, request: dict[str, Any], create: Callable[[], GenerationJob]) -> GenerationJob:
    """The step Powertools guards; ``request`` is what it hashes (``scope`` the key, ``body`` the payload)."""
    return create()


@per_container
def idempotent_create() -> IdempotentCreate:
    settings = creation_settings()
    config = IdempotencyConfig(
        event_key_jmespath="scope",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=settings.idempotency_key_ttl_seconds,
        hash_function="sha256",
        response_hook=_replayed,
    )
    store = DynamoDBPersistenceLayer(table_name=settings.idempotency_table_name, boto3_client=dynamodb_client())
    run_once = idempotent_function(
        _run,
        data_keyword_argument="request",
        persistence_store=store,
        config=config,
        output_serializer=PydanticSerializer(GenerationJob),
        key_prefix=RECORD_PREFIX,
    )
    return IdempotentCreate(config, run_once)
