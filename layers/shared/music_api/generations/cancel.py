"""POST /v1/music/{organization_id}/generations/{job_id}/cancel: cooperative, idempotent cancellation.

Through the job writer (``JobWriter.request_cancel``): a queued job is cancelled at once, a running one is flagged
for its worker, a terminal one is returned unchanged. The answer is the job as it is now, as GET shows it. Only
the cancel function imports this module, so the GET function's cold start never loads the writer.
"""

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.aws import dynamodb_client
from music_api.core.errors import JobNotFoundError
from music_api.core.http import ProxyResponse
from music_api.generations.handler import serve
from music_api.generations.logic import public_view
from music_api.generations.request import GetGenerationRequest
from music_api.generations.response import GenerationJob
from music_api.generations.settings import GenerationSettings
from music_api.generations.signer import signer_for
from music_api.generations.stored import StoredJob
from music_api.generations.writer import JobRef, JobWriter, UnknownJobError


def handle_cancel_generation(event: Mapping[str, Any], context: LambdaContext) -> ProxyResponse:
    return serve(event, context, cancel_generation)


def cancel_generation(request: GetGenerationRequest, settings: GenerationSettings) -> tuple[StoredJob, GenerationJob]:
    """The caller's job after the cancel request. Another user's job is keyed elsewhere: missing, untouched."""
    writer = JobWriter(dynamodb_client(), settings.jobs_table_name, audio_key_prefix=settings.audio_key_prefix)
    try:
        written = writer.request_cancel(JobRef(request.organization_id, request.caller.user_id, request.job_id))
    except UnknownJobError:
        raise JobNotFoundError(request.job_id) from None
    return written.job, public_view(written.job, signer_for(settings))
