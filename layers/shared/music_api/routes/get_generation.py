"""GET /v1/music/{organization_id}/generations/{job_id}: the caller's job, with a freshly signed playback URL once it
has succeeded, and a polling hint (Retry-After) while it is in flight.

Its request is the job path cancel reads too (``core.caller.job_path``: caller, then path format, then membership);
its answer is the one of every route about one job (``jobs.views.job_answer``).
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.aws import dynamodb_client
from music_api.core.caller import JobPath, job_path
from music_api.core.errors import JobNotFoundError
from music_api.core.observability import logger
from music_api.core.openapi import (
    JOB_ID,
    ORGANIZATION_ID,
    FunctionError,
    Operation,
    caller_errors,
    malformed_job_id,
    store_or_signer_unavailable,
    unexpected,
)
from music_api.core.route import route
from music_api.jobs.models import StoredJob
from music_api.jobs.settings import GenerationSettings, generation_settings
from music_api.jobs.signer import signer_for
from music_api.jobs.store import JobRepository
from music_api.jobs.views import GenerationJob, job_answer, public_view


def get_generation(
    request: JobPath, settings: GenerationSettings, context: LambdaContext
) -> tuple[StoredJob, GenerationJob]:
    """The stored job and its public view. A job of another user or organization is not found, by key."""
    logger.append_keys(organization_id=request.organization_id, job_id=request.job_id)
    jobs = JobRepository(dynamodb_client(), settings.jobs_table_name)
    job = jobs.get(request.organization_id, request.caller.user_id, request.job_id)
    if job is None:
        raise JobNotFoundError(request.job_id)
    return job, public_view(job, signer_for(settings))


OPERATION = Operation(
    operation_id="getGeneration",
    method="get",
    path="/v1/music/{organization_id}/generations/{job_id}",
    tag="Generations",
    summary="Get a music generation job",
    description=(
        "Return a single generation job's status, progress, and, on success, a freshly minted short-TTL "
        "signed playback URL for the master audio plus an embedded track summary. Poll it to follow a job to "
        "completion, no faster than Retry-After while the job is queued or running. The URL is minted on "
        "every request: fetch the job again for a new one. Scoped to the caller's organization and user: "
        "another user's or organization's job answers exactly like a job that does not exist."
    ),
    parameters=(ORGANIZATION_ID, JOB_ID),
    success_status="200",
    success_model=GenerationJob,
    success_description=(
        "The job. playback_url, playback_url_expires_at and track are null unless it succeeded; a succeeded "
        "job carries a freshly signed playback URL on every response."
    ),
    success_headers=("Retry-After-Polling",),
    errors=(
        malformed_job_id(),
        *caller_errors(),
        FunctionError(
            JobNotFoundError(JOB_ID.example),
            "the caller has no job with this id in this organization (details.job_id echoes the id); another "
            "user's or organization's job answers the same.",
        ),
        unexpected(),
        store_or_signer_unavailable(),
    ),
    examples="get-generation.yaml",
)


lambda_handler = route(settings=generation_settings, parse=job_path, operation=get_generation, answer=job_answer)
