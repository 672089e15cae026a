"""POST /v1/music/{organization_id}/generations/{job_id}/cancel: cooperative, idempotent cancellation.

Through the job writer (``JobWriter.request_cancel``): a queued job is cancelled at once, a running one is flagged
for its worker, a terminal one is returned unchanged. The answer is the job as it is now, as GET answers it. Only
the cancel function loads this module, so the GET function's cold start never loads the writer.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.aws import dynamodb_client
from music_api.core.caller import JobPath, job_path
from music_api.core.errors import JobNotFoundError
from music_api.core.observability import logger
from music_api.core.route import route
from music_api.jobs.models import StoredJob
from music_api.jobs.settings import GenerationSettings, generation_settings
from music_api.jobs.signer import signer_for
from music_api.jobs.views import GenerationJob, job_answer, public_view
from music_api.jobs.writer import JobRef, JobWriter, UnknownJobError


def parse_request(event: object) -> JobPath:
    """In GET's order: the caller's job named by the path."""
    return job_path(event)


def cancel_generation(
    request: JobPath, settings: GenerationSettings, context: LambdaContext
) -> tuple[StoredJob, GenerationJob]:
    """The caller's job after the cancel request. Another user's job is keyed elsewhere: missing, untouched."""
    logger.append_keys(organization_id=request.organization_id, job_id=request.job_id)
    writer = JobWriter(dynamodb_client(), settings.jobs_table_name, audio_key_prefix=settings.audio_key_prefix)
    try:
        written = writer.request_cancel(JobRef(request.organization_id, request.caller.user_id, request.job_id))
    except UnknownJobError:
        raise JobNotFoundError(request.job_id) from None
    return written.job, public_view(written.job, signer_for(settings))


lambda_handler = route(
    settings=generation_settings, parse=parse_request, operation=cancel_generation, answer=job_answer
)
