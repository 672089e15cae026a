"""POST /v1/music/{organization_id}/generations/{job_id}/cancel: cooperative, idempotent cancellation.

Through the job writer (``JobWriter.request_cancel``): a queued job is cancelled at once, a running one is flagged
for its worker, a terminal one is returned unchanged. The answer is the job as it is now, as GET answers it. Only
the cancel function loads this module, so the GET function's cold start never loads the writer. Request and answer
are GET's (``core.caller.job_path``, ``jobs.views.job_answer``).
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
from music_api.jobs.views import GenerationJob, job_answer, public_view
from music_api.jobs.writer import JobRef, JobWriter, UnknownJobError


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


OPERATION = Operation(
    operation_id="cancelGeneration",
    method="post",
    path="/v1/music/{organization_id}/generations/{job_id}/cancel",
    tag="Generations",
    summary="Cancel a music generation job",
    description=(
        "Request cooperative cancellation; no body. A queued job no worker has started is cancelled at once. "
        "A running job is flagged for its worker, which stops at its next checkpoint and ends it cancelled "
        "with its progress frozen; until then the answer (and GET) shows it running. A job already in a "
        "terminal state (succeeded, failed, cancelled, refused) is returned unchanged, without an error. "
        "Repeating the request changes nothing more. A cancel that races the job's completion ends in "
        "exactly one outcome: succeeded or cancelled. Scoped to the caller's organization and user: another "
        "user's or organization's job answers exactly like a job that does not exist, and is not touched."
    ),
    parameters=(ORGANIZATION_ID, JOB_ID),
    success_status="200",
    success_model=GenerationJob,
    success_description=(
        "The job as it is now, as GET shows it: cancelled, still queued or running until its worker stops "
        "(with Retry-After for polling), or unchanged when it had already ended."
    ),
    success_headers=("Retry-After-Polling",),
    errors=(
        malformed_job_id(),
        *caller_errors(),
        FunctionError(
            JobNotFoundError(JOB_ID.example),
            "the caller has no job with this id in this organization (details.job_id echoes the id); another "
            "user's or organization's job answers the same and is left untouched.",
        ),
        unexpected(),
        store_or_signer_unavailable(),
    ),
    examples="cancel-generation.yaml",
)


lambda_handler = route(settings=generation_settings, parse=job_path, operation=cancel_generation, answer=job_answer)
