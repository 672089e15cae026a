"""The generation queue: one message per job, carrying its key and nothing else (the worker reads the job item).

Sends report failures as ``DispatchError`` with the error's code or type only: botocore's own messages name the
queue's URL or ARN and the caller's role, which belong in neither a response nor a log line.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from music_api.core.dynamodb import error_code
from music_api.jobs.writer import InvalidJobWriteError, JobRef


class QueueClient(Protocol):
    """The SQS calls made here (boto3's client has them; no stubs package needed)."""

    def send_message(self, *, QueueUrl: str, MessageBody: str) -> Mapping[str, Any]: ...  # noqa: N803 - boto3's


class DispatchError(Exception):
    """A message could not be sent; ``reason`` is an error code or exception type, never a URL or ARN."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidJobMessageError(ValueError):
    """A message that is not a job's key."""


def message_body(ref: JobRef) -> str:
    return json.dumps(
        {"organization_id": ref.organization_id, "user_id": ref.user_id, "job_id": ref.job_id}, separators=(",", ":")
    )


def job_ref_of(body: str) -> JobRef:
    """The job a message names (what a worker does first with one)."""
    try:
        fields = json.loads(body)
        return JobRef(fields["organization_id"], fields["user_id"], fields["job_id"])
    except (ValueError, TypeError, KeyError, InvalidJobWriteError) as exc:
        raise InvalidJobMessageError("not a job message") from exc


def _reason(exc: BotoCoreError | ClientError) -> str:
    return error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__


class GenerationQueue:
    def __init__(self, client: QueueClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, ref: JobRef) -> None:
        try:
            self._client.send_message(QueueUrl=self._queue_url, MessageBody=message_body(ref))
        except (BotoCoreError, ClientError) as exc:
            raise DispatchError(_reason(exc)) from None

    def send_all(self, refs: Sequence[JobRef]) -> tuple[list[JobRef], list[str]]:
        """Every job's message, one request each (a sweep re-sends a few jobs; SendMessageBatch would need its own
        IAM action locally, where moto names it apart): the jobs whose message was sent, a reason per failure."""
        sent: list[JobRef] = []
        failures: list[str] = []
        for ref in refs:
            try:
                self.send(ref)
            except DispatchError as error:
                failures.append(error.reason)
            else:
                sent.append(ref)
        return sent, failures
