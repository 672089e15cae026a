"""GET /v1/music/{organization_id}/generations/{job_id}: the caller's job, with a freshly signed playback URL once it
has succeeded, and a polling hint (Retry-After) while it is in flight."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.aws import dynamodb_client
from music_api.core.caller import JobPath, job_path
from music_api.core.errors import JobNotFoundError
from music_api.core.observability import logger
from music_api.core.route import route
from music_api.jobs.models import StoredJob
from music_api.jobs.settings import GenerationSettings, generation_settings
from music_api.jobs.signer import signer_for
from music_api.jobs.store import JobRepository
from music_api.jobs.views import GenerationJob, job_answer, public_view


def parse_request(event: object) -> JobPath:
    """The caller's job named by the path (the same request as cancel's)."""
    return job_path(event)


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


lambda_handler = route(settings=generation_settings, parse=parse_request, operation=get_generation, answer=job_answer)
