"""The peer: GET generation written the idiomatic Powertools way, as aws-lambda-handler-cookbook writes a handler.

APIGatewayRestResolver with validation (path parameters and the response model), pydantic models for the
environment and the response, the parser for the stored item, the boto3 ``Table`` resource, an S3 client for
presigning, and the Logger and Metrics decorators. No Tracer: ours has none either (docs/performance.md), and
its X-Ray SDK import would dwarf everything else measured here. Per-request logging matches ours (no INFO
line on success), so the comparison is about the code path, not log volume.

For the benchmark event it answers what ours answers: 200 and the generation job object.
"""

import os
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.exceptions import ForbiddenError, NotFoundError
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from pydantic import BaseModel, Field

from music_api.core.ids import JOB_ID_PATTERN, ORGANIZATION_ID_PATTERN, anchored

Status = Literal["queued", "running", "succeeded", "failed", "cancelled", "refused"]
Mode = Literal["creation", "focus"]


class EnvironmentVariables(BaseModel):
    JOBS_TABLE_NAME: str = Field(min_length=3)
    AUDIO_BUCKET_NAME: str = Field(min_length=3)
    PLAYBACK_URL_TTL_SECONDS: int = Field(default=600, ge=60, le=3600)


class Track(BaseModel):
    id: str
    title: str
    engine: str
    mode: Mode
    instrumental: bool
    measured_duration_seconds: float
    mime_type: str
    licence_class: str


class TrackEntry(Track):
    audio_key: str


class TrackOutput(Track):
    playback_url: str


class Job(BaseModel):
    id: str
    status: Status
    progress: int = Field(ge=0, le=100)
    engine: str
    mode: Mode
    created_at: datetime
    result_track_id: str | None = None
    error_message: str | None = None
    refusal_reason: str | None = None


class JobEntry(Job):
    track: TrackEntry | None = None


class GenerationOutput(Job):
    playback_url: str | None
    playback_url_expires_at: datetime | None
    track: TrackOutput | None


logger = Logger()
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)
environment = EnvironmentVariables.model_validate(os.environ)
table = boto3.resource("dynamodb").Table(environment.JOBS_TABLE_NAME)
s3 = boto3.client("s3", config=Config(signature_version="s3v4"))


@app.get("/v1/music/<organization_id>/generations/<job_id>")
def get_generation(
    organization_id: Annotated[str, Path(pattern=anchored(ORGANIZATION_ID_PATTERN))],
    job_id: Annotated[str, Path(pattern=anchored(JOB_ID_PATTERN))],
) -> GenerationOutput:
    authorizer = app.current_event.request_context.authorizer
    if organization_id not in str(authorizer.get("organization_ids", "")).split(","):
        raise ForbiddenError("You do not have access to this organization.")
    logger.append_keys(organization_id=organization_id, job_id=job_id)
    item = table.get_item(
        Key={"pk": f"ORG#{organization_id}#USER#{authorizer['user_id']}", "sk": f"JOB#{job_id}"},
        ConsistentRead=True,
    ).get("Item")
    if item is None:
        raise NotFoundError("Generation job not found.")
    job = parse(event=item, model=JobEntry)
    metrics.add_metric(name="GenerationJobReturned", unit=MetricUnit.Count, value=1)
    if job.status != "succeeded" or job.track is None:
        return GenerationOutput(
            **job.model_dump(exclude={"track"}), playback_url=None, playback_url_expires_at=None, track=None
        )
    url = s3.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": environment.AUDIO_BUCKET_NAME,
            "Key": job.track.audio_key,
            "ResponseContentType": job.track.mime_type,
        },
        ExpiresIn=environment.PLAYBACK_URL_TTL_SECONDS,
    )
    return GenerationOutput(
        **job.model_dump(exclude={"track", "result_track_id"}),
        result_track_id=job.track.id,
        playback_url=url,
        playback_url_expires_at=datetime.now(UTC) + timedelta(seconds=environment.PLAYBACK_URL_TTL_SECONDS),
        track=TrackOutput(**job.track.model_dump(exclude={"audio_key"}), playback_url=url),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
