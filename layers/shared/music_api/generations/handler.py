"""GET /v1/music/{organization_id}/generations/{job_id}: event in, proxy response out, nothing escapes.

``serve`` is the frame every single-job route shares (the cancel route too): parse, run, answer the job or the
envelope.
"""

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.answers import answered
from music_api.core.aws import dynamodb_client
from music_api.core.http import ProxyResponse, json_response
from music_api.core.observability import logger, metrics
from music_api.generations.logic import get_generation
from music_api.generations.request import GetGenerationRequest, parse_request
from music_api.generations.response import GenerationJob
from music_api.generations.settings import GenerationSettings, generation_settings
from music_api.generations.signer import signer_for
from music_api.generations.store import JobRepository
from music_api.generations.stored import StoredJob

JobOperation = Callable[[GetGenerationRequest, GenerationSettings], tuple[StoredJob, GenerationJob]]


def handle_get_generation(event: Mapping[str, Any], context: LambdaContext) -> ProxyResponse:
    return serve(event, context, _get_generation)


def _get_generation(request: GetGenerationRequest, settings: GenerationSettings) -> tuple[StoredJob, GenerationJob]:
    return get_generation(request, JobRepository(dynamodb_client(), settings.jobs_table_name), signer_for(settings))


def serve(event: Mapping[str, Any], context: LambdaContext, operation: JobOperation) -> ProxyResponse:
    """One job route: the caller's job after ``operation``, or the envelope (core.answers); nothing escapes."""
    return answered(
        event,
        context,
        lambda trace_id: _job_response(event, trace_id, operation),
        unavailable_retry_after=lambda: generation_settings().unavailable_retry_after_seconds,
    )


def _job_response(event: Mapping[str, Any], trace_id: str, operation: JobOperation) -> ProxyResponse:
    settings = generation_settings()
    request = parse_request(event)
    logger.append_keys(organization_id=request.organization_id, job_id=request.job_id)
    job, body = operation(request, settings)
    metrics.add_dimension(name="status", value=job.status)
    metrics.add_metric(name="GenerationJobReturned", unit=MetricUnit.Count, value=1)
    # DEBUG: one line per poll at INFO would cost more CPU than the rest of the handler's own work
    # (docs/performance.md); errors are logged at INFO and above, and Lambda's REPORT line counts requests.
    logger.debug(
        "Generation job returned",
        extra={"status": job.status, "playback_url_expires_at": body.playback_url_expires_at},
    )
    retry_after = None
    if job.status == "queued":
        retry_after = settings.queued_retry_after_seconds
    elif job.status == "running":
        retry_after = settings.running_retry_after_seconds
    return json_response(200, body.model_dump_json(), trace_id, retry_after_seconds=retry_after)
