"""POST /v1/music/{organization_id}/generations: event in, 202 with the queued job out, nothing escapes."""

from collections.abc import Mapping
from typing import Any, Final

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.answers import answered
from music_api.core.aws import dynamodb_client, sqs_client
from music_api.core.containers import per_container
from music_api.core.http import ProxyResponse, json_response
from music_api.core.observability import logger, metrics
from music_api.creation.idempotency import create_once
from music_api.creation.logic import (
    CachedCatalogue,
    check_engine_rules,
    check_seed_track,
    check_webhook_url,
    create_job,
)
from music_api.creation.request import CreateGenerationRequest, parse_request
from music_api.creation.settings import CreationSettings, creation_settings
from music_api.dispatch.queue import DispatchError, GenerationQueue
from music_api.engines.store import EngineCatalogue
from music_api.generations.response import GenerationJob
from music_api.generations.writer import JobRef, JobWriter, LifecycleJob
from music_api.tracks.store import TrackRepository

# A replay's answer is the first request's (status, body, Location); this header tells the two apart.
REPLAYED_HEADER: Final = "Idempotent-Replayed"


@per_container
def engine_cache() -> CachedCatalogue:
    """Per container, as Lambda reuses it: the catalogue is read at most once per ENGINE_CACHE_SECONDS."""
    return CachedCatalogue(creation_settings().engine_cache_seconds)


def handle_create_generation(event: Mapping[str, Any], context: LambdaContext) -> ProxyResponse:
    return answered(
        event,
        context,
        lambda trace_id: _create_generation(event, context, trace_id),
        unavailable_retry_after=lambda: creation_settings().unavailable_retry_after_seconds,
    )


def _create_generation(event: Mapping[str, Any], context: LambdaContext, trace_id: str) -> ProxyResponse:
    settings = creation_settings()
    request = parse_request(event)
    check_webhook_url(request, settings.url_policy())
    logger.append_keys(organization_id=request.organization_id)
    created = create_once(request, context, lambda: _new_queued_job(request))
    response = json_response(
        202,
        created.job.model_dump_json(),
        trace_id,
        retry_after_seconds=settings.queued_retry_after_seconds,
    )
    # Relative to the request's URL (RFC 9110 allows it): right behind any stage or base path.
    response["headers"]["Location"] = f"generations/{created.job.id}"
    if created.replayed:
        logger.info("Generation job replayed for its idempotency key", extra={"job_id": created.job.id})
        metrics.add_metric(name="GenerationCreateReplayed", unit=MetricUnit.Count, value=1)
        response["headers"][REPLAYED_HEADER] = "true"
    return response


def _new_queued_job(request: CreateGenerationRequest) -> GenerationJob:
    """The engine catalogue's rules, then the queued job through the job writer: what an idempotency key guards."""
    settings = creation_settings()
    client = dynamodb_client()
    engines = engine_cache().engines(EngineCatalogue(client, settings.jobs_table_name))
    engine = check_engine_rules(request, engines)
    check_seed_track(request, TrackRepository(client, settings.jobs_table_name))
    written = create_job(request, JobWriter(client, settings.jobs_table_name))
    job = written.job
    logger.append_keys(job_id=job.id)
    if job.status == "queued":  # an earlier attempt's job may still wait for a message that attempt never sent
        dispatch(job, settings)
    if not written.changed:
        logger.info("Generation job of an earlier attempt with this idempotency key answered")
        metrics.add_metric(name="GenerationCreateRepeated", unit=MetricUnit.Count, value=1)
        return queued_view(job)
    metrics.add_dimension(name="engine", value=engine.key)
    metrics.add_metric(name="GenerationJobCreated", unit=MetricUnit.Count, value=1)
    logger.info("Generation job created", extra={"engine": engine.key, "mode": job.mode})
    return queued_view(job)


def dispatch(job: LifecycleJob, settings: CreationSettings) -> None:
    """Hand the new job to the workers. A failed send is not the client's failure: the job is stored, and the
    dispatch sweeper sends it once the grace has passed (docs/architecture.md#no-job-stays-queued)."""
    try:
        GenerationQueue(sqs_client(), settings.generation_queue_url).send(
            JobRef(job.organization_id, job.user_id, job.id)
        )
    except DispatchError as error:
        logger.warning("Generation job not sent to the queue; the sweeper will", extra={"reason": error.reason})
        # Outside the request's metric set, which gets the engine dimension: the alarm counts {service} only.
        with single_metric(name="GenerationDispatchFailed", unit=MetricUnit.Count, value=1):
            pass  # written as the block ends


def queued_view(job: LifecycleJob) -> GenerationJob:
    """The job as create answers it (new: queued): no track, no URL; GET mints those."""
    return GenerationJob(
        **job.model_dump(include={"id", "status", "progress", "engine", "mode", "created_at"}),
        result_track_id=None,
        error_message=None,
        refusal_reason=None,
        playback_url=None,
        playback_url_expires_at=None,
        track=None,
    )
