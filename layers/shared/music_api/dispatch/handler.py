"""The dispatch sweeper's scheduled invocation: one sweep, its counts as metrics and as the result."""

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.aws import dynamodb_client, sqs_client
from music_api.core.observability import entry_point, logger, metrics
from music_api.dispatch.queue import GenerationQueue
from music_api.dispatch.settings import sweeper_settings
from music_api.dispatch.sweeper import AwaitingDispatch, RunningJobs, Sweeper, SweepPolicy
from music_api.jobs.writer import JobWriter

METRICS = {
    "redispatched": "GenerationJobRedispatched",
    "unscheduled": "GenerationJobUnscheduled",
    "failed_sends": "GenerationRedispatchFailed",
    "stale": "GenerationJobStale",
}


def handle_sweep(event: Mapping[str, Any], context: LambdaContext) -> dict[str, int]:
    """A failure (the jobs table unreachable) escapes: the invocation errors, DispatchSweeperErrorAlarm counts it,
    and the next scheduled sweep starts over."""
    settings = sweeper_settings()
    client = dynamodb_client()
    sweeper = Sweeper(
        (AwaitingDispatch(client, settings.jobs_table_name), RunningJobs(client, settings.jobs_table_name)),
        JobWriter(client, settings.jobs_table_name),
        GenerationQueue(sqs_client(), settings.generation_queue_url),
        SweepPolicy.of(settings),
    )
    result = sweeper.sweep().as_dict()
    for field, metric in METRICS.items():
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=result[field])
    logger.info("Dispatch sweep done", extra=result)
    return result


lambda_handler = entry_point(handle_sweep)
