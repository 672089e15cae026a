"""SQS event sources, locally: each function with an ``SQS`` event in template.yaml is invoked with SQS batch events
made of its queue's messages, as Lambda's event source mapping does: a batch of at most ``BatchSize`` messages, the
messages of a successful invocation deleted, those it reports (``ReportBatchItemFailures``) or all of a failed
invocation left to return after their visibility timeout (and, past the queue's receive count, to its dead-letter
queue, which moto applies).

Each function runs in processes of its own (``ProcessFunction``), at most ``LOCAL_CONCURRENCY`` at a time (or its
``ScalingConfig.MaximumConcurrency`` if lower), each an execution environment with the function's own variables:
a generation of several seconds holds neither the gateway's invocations, which share the server's process and
its lock (music_local.gateway), nor another message.

A ``claim`` for a function's messages may take a message before the function sees it (the local simulator takes
the jobs whose prompt asks for a scripted ending): a claimed message is deleted and left out of the batch.
"""

import multiprocessing
import sys
import threading
from collections.abc import Callable, Collection, Mapping
from multiprocessing.connection import Connection
from typing import Any, Final, Protocol

from music_local.background import EventSourceThreads
from music_local.emulator import REGION, LocalAws
from music_local.gateway import LocalFunction
from music_local.template import QueueEvent, Template

LOCAL_CONCURRENCY: Final = 2
# Each polling thread waits on the queue (long polling, as Lambda's poller does) instead of asking twice a second:
# moto wakes the wait when a message arrives. Short enough for ``stop`` not to wait long; a failed receive pauses.
LONG_POLL_SECONDS: Final = 1
FAILED_POLL_PAUSE_SECONDS: Final = 0.5


def sqs_event(messages: list[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """What Lambda hands a function its SQS event source invokes."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": dict(message.get("MessageAttributes", {})),
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for message in messages
        ]
    }


class Invoker(Protocol):
    """A function one can invoke with an event: a process of its own here, the function in-process in a test."""

    def invoke(self, event: dict[str, Any]) -> Any: ...


class FunctionError(Exception):
    """The function raised: Lambda reports an invocation error (the batch's messages all return)."""


def _serve(template: Template, logical_id: str, environment: Mapping[str, str], connection: Connection) -> None:
    """The child process: one invocation per event received, the first after the function's INIT."""
    function = LocalFunction(template, logical_id, environment)
    while True:
        event = connection.recv()
        if event is None:
            return
        try:
            connection.send(("result", function.invoke(event)))
        except Exception as error:  # noqa: BLE001 - reported the way Lambda reports a function error
            connection.send(("error", f"{type(error).__name__}: {error}"))


class ProcessFunction:
    """One execution environment of a template function in a process of its own, started on first use; one
    invocation at a time, as in Lambda."""

    def __init__(self, template: Template, logical_id: str, environment: Mapping[str, str]) -> None:
        self.name = logical_id
        self._arguments = (template, logical_id, dict(environment))
        self._lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._connection: Connection | None = None

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            connection = self._connection
            if connection is None or self._process is None or not self._process.is_alive():
                connection = self._start()
            connection.send(event)
            try:
                kind, value = connection.recv()
            except EOFError:  # the process died mid-invocation (as a killed Lambda runtime): a new one next time
                self._process = None
                raise FunctionError(f"{self.name}: the runtime exited") from None
        if kind == "error":
            raise FunctionError(value)
        return value

    def stop(self) -> None:
        with self._lock:
            if self._process is not None and self._connection is not None:
                self._connection.send(None)
                self._process.join(timeout=5)
                if self._process.is_alive():
                    self._process.terminate()  # this process's own child, by its handle
                self._process = None

    def _start(self) -> Connection:
        parent, child = multiprocessing.get_context("spawn").Pipe()
        process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(*self._arguments, child), name=f"local-{self.name}", daemon=True
        )
        process.start()
        self._process, self._connection = process, parent
        return parent


class QueueConsumers(EventSourceThreads[QueueEvent, ProcessFunction]):
    """One polling thread per execution environment of each SQS event; ``stop`` waits for invocations under way."""

    def __init__(
        self,
        template: Template,
        aws: LocalAws,
        environments: Mapping[str, Mapping[str, str]],
        *,
        claims: Mapping[str, Callable[[str], bool]] | None = None,
        only: Collection[str] | None = None,
    ) -> None:
        """``only`` names the functions whose events run (a test of one pipeline); by default, every function's."""
        self._aws = aws
        self._claims = dict(claims or {})
        runs = [
            (event, ProcessFunction(template, event.function, environments[event.function]))
            for event in template.queue_events()
            if only is None or event.function in only
            for _ in range(min(event.max_concurrency or LOCAL_CONCURRENCY, LOCAL_CONCURRENCY))
        ]
        self.functions = [function for _, function in runs]
        super().__init__(runs)

    def stop(self) -> None:
        super().stop()
        for function in self.functions:
            function.stop()

    def poll_once(self, event: QueueEvent, function: Invoker, wait_seconds: int = 0) -> int:
        """One receive (waiting up to ``wait_seconds`` for a message) and, if it brought messages the claims left,
        one invocation: how many were handed over."""
        queue_url = self._aws.queue_urls[event.queue]
        answer = self._aws.sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(event.batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        claim = self._claims.get(event.function)
        batch = []
        for message in answer.get("Messages", []):
            if claim is not None and claim(message["Body"]):
                self._aws.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            else:
                batch.append(message)
        if not batch:
            return 0
        try:
            result = function.invoke(sqs_event(batch, self._aws.arns[event.queue]))
        except Exception as error:  # noqa: BLE001 - Lambda's invocation error: every message of the batch returns
            print(f"sqs: {event.function} failed ({error}); its messages return", file=sys.stderr, flush=True)
            return len(batch)
        failed = set()
        if event.reports_item_failures and isinstance(result, Mapping):
            failed = {item.get("itemIdentifier") for item in result.get("batchItemFailures") or []}
        for message in batch:
            if message["MessageId"] not in failed:
                self._aws.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(batch)

    def _run(self, event: QueueEvent, function: ProcessFunction) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once(event, function, LONG_POLL_SECONDS)
            except Exception as error:  # noqa: BLE001 - the emulator is busy or stopping: poll again
                print(f"sqs: {event.function} poll skipped ({type(error).__name__})", file=sys.stderr, flush=True)
                self._stopping.wait(FAILED_POLL_PAUSE_SECONDS)
