"""The generation worker's SQS invocation: a batch of job messages, each run to its end or handed back.

Powertools' batch utility answers with the messages that must come back (``ReportBatchItemFailures``): a message
that names no job (poison: after the queue's receive count it rests in the dead-letter queue), one whose job waits
for a retry (made visible again after its backoff), and one whose step failed unexpectedly. The others are
deleted by Lambda. The template gives the event source a batch of one: a job runs for seconds to minutes, and a
batch's later messages would wait behind it with their visibility timeout running.
"""

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from music_api.core.aws import dynamodb_client, s3_client, sqs_client
from music_api.core.containers import per_container
from music_api.core.observability import entry_point, logger, metrics
from music_api.dispatch.queue import InvalidJobMessageError
from music_api.worker.registry import engine_for
from music_api.worker.run import AudioStore, Delivery, JobRunner, RetryLater
from music_api.worker.settings import worker_settings

OUTCOME_METRICS = {
    "succeeded": "GenerationJobSucceeded",
    "failed": "GenerationJobFailed",
    "cancelled": "GenerationJobCancelled",
    "refused": "GenerationJobRefused",
    "dropped": "GenerationMessageDropped",
}


@per_container
def job_runner() -> JobRunner:
    """One per container: its clients and the engines it has loaded serve every later invocation."""
    settings = worker_settings()
    return JobRunner(dynamodb_client(), AudioStore(s3_client(), settings.audio_bucket_name), settings, engine_for)


def handle_batch(event: Mapping[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=dict(event),
        record_handler=handle_record,
        # A batch whose every message must come back is still an answer, not an invocation error: the function's
        # Errors (and its alarm) count crashes, timeouts and out-of-memory kills alone.
        processor=BatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False),
        context=context,
    )


lambda_handler = entry_point(handle_batch)


def handle_record(record: SQSRecord) -> None:
    """Raises for a message that must come back: Powertools reports it as a batch item failure."""
    delivery = Delivery(record.body, int(record.attributes.approximate_receive_count or 1))
    try:
        outcome = job_runner().run(delivery)
    except InvalidJobMessageError:
        logger.error("Generation message names no job", extra={"message_id": record.message_id})
        metrics.add_metric(name="GenerationMessageInvalid", unit=MetricUnit.Count, value=1)
        raise
    except RetryLater as retry:
        metrics.add_metric(name="GenerationJobRetried", unit=MetricUnit.Count, value=1)
        _visible_again_after(record, retry.delay_seconds)
        raise
    finally:
        logger.remove_keys(["job_id"])
    metrics.add_metric(name=OUTCOME_METRICS[outcome], unit=MetricUnit.Count, value=1)


def _visible_again_after(record: SQSRecord, seconds: int) -> None:
    """The backoff instead of the queue's visibility timeout (six function timeouts); best effort."""
    try:
        sqs_client().change_message_visibility(
            QueueUrl=worker_settings().generation_queue_url,
            ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=seconds,
        )
    except (BotoCoreError, ClientError):
        logger.warning("Retry backoff not set: the message returns after the queue's visibility timeout")
