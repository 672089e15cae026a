"""DynamoDB Streams, locally: each function with a ``DynamoDB`` event in template.yaml is invoked with the
stream's records, read from moto's ``dynamodbstreams`` API with the function's own role (as Lambda's event
source mapping reads it), filtered by the event's ``FilterCriteria``, in batches of its ``BatchSize``.

A batch that raises is invoked again, up to the event's ``MaximumRetryAttempts``; then its shard and sequence
range go to the ``OnFailure`` destination queue, as Lambda records them, and the runner moves on. Not emulated:
bisecting a failing batch, several shards (moto keeps one per table), the batching window, a start at LATEST.
"""

import json
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from music_local.background import EventSourceThreads, runs_of
from music_local.emulator import REGION, Credentials, ItemWrites, LocalAws
from music_local.gateway import LocalFunction
from music_local.template import Template, UnsupportedTemplateError

POLL_SECONDS: Final = 0.5
# Reading streams after each write: a look now and then anyway, should a write ever reach the tables another way.
IDLE_POLL_SECONDS: Final = 5.0


@dataclass(frozen=True)
class StreamSource:
    """A function's ``DynamoDB`` event: which table's stream, how many records a batch, what it lets through."""

    function: str  # logical id
    table: str  # the table's logical id
    batch_size: int
    max_retries: int
    filters: tuple[Mapping[str, Any], ...]
    on_failure_queue: str | None  # logical id of an SQS on-failure destination


def stream_sources(template: Template) -> list[StreamSource]:
    sources = []
    for function in template.resources_of_type("AWS::Serverless::Function"):
        for event in template.resource(function)["Properties"].get("Events", {}).values():
            if event["Type"] != "DynamoDB":
                continue
            properties = event["Properties"]
            table, _, attribute = str(properties["Stream"].get("Fn::GetAtt", "")).partition(".")
            if attribute != "StreamArn" or properties["StartingPosition"] != "TRIM_HORIZON":
                raise UnsupportedTemplateError(
                    f"{function}: only a table's StreamArn from TRIM_HORIZON, not {properties}"
                )
            destination = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            sources.append(
                StreamSource(
                    function=function,
                    table=table,
                    batch_size=int(properties.get("BatchSize", 100)),
                    max_retries=int(properties.get("MaximumRetryAttempts", -1)),
                    filters=tuple(
                        json.loads(entry["Pattern"])
                        for entry in properties.get("FilterCriteria", {}).get("Filters", [])
                    ),
                    on_failure_queue=str(destination["Fn::GetAtt"]).split(".")[0] if destination else None,
                )
            )
    return sources


def matches(pattern: Any, value: Any) -> bool:
    """Lambda's event filter (the EventBridge pattern subset the template uses): objects nest, a list matches
    when the value equals one of its entries or an ``{"exists": ...}`` entry holds."""
    if isinstance(pattern, Mapping):
        if not isinstance(value, Mapping):
            return False
        return all(
            _exists_only(expected, name in value) if name not in value else matches(expected, value[name])
            for name, expected in pattern.items()
        )
    if isinstance(pattern, list):
        for entry in pattern:
            if isinstance(entry, Mapping):
                if set(entry) != {"exists"}:
                    raise UnsupportedTemplateError(f"the local stack cannot filter with {entry}")
                if entry["exists"] is True:
                    return True
            elif entry == value:
                return True
        return False
    raise UnsupportedTemplateError(f"the local stack cannot filter with {pattern!r}")


def _exists_only(pattern: Any, present: bool) -> bool:
    """A missing field matches only a pattern that asks for it to be missing."""
    return isinstance(pattern, list) and any(
        isinstance(entry, Mapping) and entry.get("exists") is present for entry in pattern
    )


def lambda_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda hands it over: JSON types (the creation time as epoch seconds), the ARN."""
    images = dict(record["dynamodb"])
    created = images.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        images["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        **{name: value for name, value in record.items() if name != "dynamodb"},
        "dynamodb": images,
        "eventSourceARN": stream_arn,
        "awsRegion": REGION,
    }


class StreamRunner(EventSourceThreads[StreamSource, LocalFunction]):
    """One background thread per stream source; ``stop`` waits for an invocation under way."""

    def __init__(
        self,
        sources: Sequence[StreamSource],
        functions: Mapping[str, LocalFunction],
        aws: LocalAws,
        *,
        poll_seconds: float = POLL_SECONDS,
        writes: ItemWrites | None = None,
    ) -> None:
        """Each stream is read every ``poll_seconds`` at most; with ``writes`` (the stack's own moto server), only
        once the server has answered a write since the last read, so an idle stack reads nothing."""
        super().__init__(runs_of(sources, functions))
        self._aws = aws
        self._poll_seconds = poll_seconds
        self._writes = writes

    def stop(self) -> None:
        self._stopping.set()
        if self._writes is not None:
            self._writes.bump()  # the threads waiting on it see that they are stopping
        super().stop()

    def _polls(self) -> Iterator[None]:
        """Each time a poll is due, until stopping: every ``poll_seconds`` at most, and with ``writes`` only once
        the server has answered a write since the last poll."""
        seen = -1
        while not self._stopping.wait(self._poll_seconds):
            if self._writes is not None:
                seen = self._writes.wait(seen, IDLE_POLL_SECONDS)
                if self._stopping.is_set():
                    return
            yield

    def _run(self, source: StreamSource, function: LocalFunction) -> None:
        credentials = self._aws.function_credentials[source.function]
        streams = self._aws.client("dynamodbstreams", credentials)
        stream_arn = self._aws.arns[f"{source.table}.StreamArn"]
        shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
        after: str | None = None  # the last record read
        for _ in self._polls():
            try:
                # A fresh iterator every poll: moto's transactions replace the table (and its stream) with a
                # copy, and an iterator taken before one never sees a record written after it.
                position = (
                    {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
                    if after
                    else {"ShardIteratorType": "TRIM_HORIZON"}
                )
                iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, **position)["ShardIterator"]
                answer = streams.get_records(ShardIterator=iterator)
            except Exception as error:  # noqa: BLE001 - Lambda's poller keeps polling too
                print(f"streams: {source.function} cannot read ({type(error).__name__})", file=sys.stderr, flush=True)
                continue
            records = [lambda_record(record, stream_arn) for record in answer.get("Records", [])]
            if records:
                after = records[-1]["dynamodb"]["SequenceNumber"]
            wanted = [
                record for record in records if not source.filters or any(matches(f, record) for f in source.filters)
            ]
            for start in range(0, len(wanted), source.batch_size):
                batch = wanted[start : start + source.batch_size]
                if not self._invoke(source, function, batch):
                    self._record_failure(source, credentials, batch)

    def _invoke(self, source: StreamSource, function: LocalFunction, batch: list[dict[str, Any]]) -> bool:
        """Whether the batch got through (or the runner stops) within the event's retries."""
        attempts = 1 + (source.max_retries if source.max_retries >= 0 else 10_000)
        for attempt in range(attempts):
            if self._stopping.is_set():
                return True
            try:
                function.invoke({"Records": batch})
            except Exception as error:  # noqa: BLE001 - Lambda would log it and retry the batch
                print(
                    f"streams: {source.function} failed ({type(error).__name__}), attempt {attempt + 1}",
                    file=sys.stderr,
                    flush=True,
                )
                time.sleep(min(2**attempt * 0.1, 2))
            else:
                return True
        return False

    def _record_failure(self, source: StreamSource, credentials: Credentials, batch: list[dict[str, Any]]) -> None:
        if source.on_failure_queue is None:
            return
        sqs = self._aws.client("sqs", credentials)
        info = {
            "shardId": "local",
            "startSequenceNumber": batch[0]["dynamodb"].get("SequenceNumber"),
            "endSequenceNumber": batch[-1]["dynamodb"].get("SequenceNumber"),
            "batchSize": len(batch),
            "streamArn": batch[0]["eventSourceARN"],
        }
        body = {"requestContext": {"condition": "RetryAttemptsExhausted"}, "DDBStreamBatchInfo": info}
        sqs.send_message(QueueUrl=self._aws.queue_urls[source.on_failure_queue], MessageBody=json.dumps(body))
