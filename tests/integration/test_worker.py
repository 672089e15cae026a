"""The generation worker against the moto server, as its own execution role: real SQS messages in, the job
writer's writes and S3 objects out. Engines are the tests' own (tests/helpers/engines.py), put in the registry in
place of the built-in synthesizer."""

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from generation_worker.app import lambda_handler
from music_api.dispatch.queue import GenerationQueue, message_body
from music_api.dispatch.sweeper import STALE_MESSAGE, AwaitingDispatch, RunningJobs, Sweeper, SweepPolicy, SweepResult
from music_api.jobs.writer import IllegalTransitionError, JobRef, JobWriter, LifecycleJob, NewJob
from music_api.worker import registry
from music_api.worker.engine import PermanentEngineError, TransientEngineError
from music_api.worker.run import UNAVAILABLE_ENGINE, UNEXPECTED
from music_local import mp3
from music_local.emulator import LocalAws
from music_local.gateway import LambdaContext
from music_local.queues import sqs_event
from tests.helpers.aws import reset_aws
from tests.helpers.engines import BlockingEngine, ScriptedEngine
from tests.helpers.jobs import fixed_clock, job_ref, job_writer, stored_item

pytestmark = pytest.mark.runs_as("GenerationWorkerFunction")

POLICY = SweepPolicy(timedelta(seconds=120), timedelta(minutes=30), max_jobs=100, lease=timedelta(seconds=360))
REQUEST = {"engine": "studio", "prompt": "slow lo-fi piano, rain on the window", "duration_seconds": 1}


@pytest.fixture(autouse=True)
def test_engines(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(registry.IMPLEMENTATIONS, "synth", "tests.helpers.engines:ScriptedEngine")
    monkeypatch.setitem(registry.IMPLEMENTATIONS, "blocking", "tests.helpers.engines:BlockingEngine")
    monkeypatch.setenv("PROGRESS_WRITE_SECONDS", "0.1")
    ScriptedEngine.SCRIPT.clear()
    BlockingEngine.STARTED.clear()
    reset_aws()
    yield
    ScriptedEngine.SCRIPT.clear()


def queued(aws: LocalAws, job_id: str, **request: Any) -> JobRef:
    """A job created as create does (its request stored), and its message on the queue."""
    ref = job_ref(job_id)
    body: dict[str, Any] = REQUEST | request
    job_writer(aws).create(NewJob(ref, str(body["engine"]), "creation"), body)
    aws.sqs.send_message(QueueUrl=aws.generation_queue_url, MessageBody=message_body(ref))
    return ref


def deliver(aws: LocalAws, lambda_context: LambdaContext) -> tuple[dict[str, Any], dict[str, Any]]:
    """Receive one message as the event source would and invoke the worker with it: (its result, the message)."""
    messages = aws.sqs.receive_message(
        QueueUrl=aws.generation_queue_url, MaxNumberOfMessages=1, AttributeNames=["All"], WaitTimeSeconds=1
    )["Messages"]
    result: dict[str, Any] = dict(lambda_handler(sqs_event(messages, aws.arns["GenerationQueue"]), lambda_context))
    return result, messages[0]


def job(aws: LocalAws, ref: JobRef) -> LifecycleJob:
    return LifecycleJob.model_validate(stored_item(aws, ref))


def audio_keys(aws: LocalAws) -> set[str]:
    listed = aws.s3.list_objects_v2(Bucket=aws.bucket, Prefix="audio/").get("Contents", [])
    return {entry["Key"] for entry in listed}


def test_a_queued_job_is_run_to_succeeded_with_its_master_and_stems_in_s3(
    aws: LocalAws, lambda_context: LambdaContext
) -> None:
    before = audio_keys(aws)
    ref = queued(aws, "mgen_worker0001", title="Rain")

    result, _ = deliver(aws, lambda_context)

    assert result == {"batchItemFailures": []}
    done = job(aws, ref)
    assert (done.status, done.progress, done.result_track_id) == ("succeeded", 100, "mtrack_worker0001")
    assert done.track is not None
    assert done.track.title == "Rain"
    assert done.track.licence_class == "commercial_cleared"  # the engine's, from the catalogue
    assert set(done.track.stems or {}) == {"bass", "melody"}
    assert audio_keys(aws) - before == {done.track.audio_key, *(done.track.stems or {}).values()}
    master = aws.s3.get_object(Bucket=aws.bucket, Key=done.track.audio_key)["Body"].read()
    assert mp3.duration_seconds(master) == pytest.approx(1.0, abs=0.1)
    assert done.heartbeat_at is not None
    assert "running_pk" not in aws.dynamodb.get_item(TableName=aws.jobs_table, Key=_key(ref))["Item"]


def test_an_engine_listed_without_stems_delivers_none(aws: LocalAws, lambda_context: LambdaContext) -> None:
    ref = queued(aws, "mgen_worker0002", engine="sketch")

    deliver(aws, lambda_context)

    done = job(aws, ref)
    assert done.status == "succeeded"
    assert done.track is not None
    assert done.track.stems is None


def test_a_duplicate_message_is_dropped_and_writes_nothing(aws: LocalAws, lambda_context: LambdaContext) -> None:
    ref = queued(aws, "mgen_worker0003")
    deliver(aws, lambda_context)
    after_first = stored_item(aws, ref)
    aws.sqs.send_message(QueueUrl=aws.generation_queue_url, MessageBody=message_body(ref))

    result, _ = deliver(aws, lambda_context)

    assert result == {"batchItemFailures": []}  # done with: Lambda deletes it
    assert stored_item(aws, ref) == after_first


def test_a_cancelled_job_is_dropped_before_it_starts(aws: LocalAws, lambda_context: LambdaContext) -> None:
    ref = queued(aws, "mgen_worker0004")
    job_writer(aws).request_cancel(ref)

    result, _ = deliver(aws, lambda_context)

    assert result == {"batchItemFailures": []}
    assert job(aws, ref).status == "cancelled"


def test_a_poison_message_is_reported_failed_so_that_it_ends_in_the_dead_letter_queue(
    aws: LocalAws, lambda_context: LambdaContext
) -> None:
    aws.sqs.send_message(QueueUrl=aws.generation_queue_url, MessageBody='{"job_id": "no"}')

    result, message = deliver(aws, lambda_context)

    assert result == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}


def test_a_transient_engine_error_returns_the_message_and_the_next_delivery_resumes_the_job(
    aws: LocalAws, lambda_context: LambdaContext
) -> None:
    ScriptedEngine.SCRIPT.extend([TransientEngineError("The engine is busy.")])
    ref = queued(aws, "mgen_worker0005")

    result, message = deliver(aws, lambda_context)

    assert result == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    waiting = job(aws, ref)
    assert (waiting.status, waiting.retry_pending) == ("running", True)
    # The backoff (30 s at the first receive) replaced the visibility timeout; let the message back now.
    aws.sqs.change_message_visibility(
        QueueUrl=aws.generation_queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    result, _ = deliver(aws, lambda_context)
    assert result == {"batchItemFailures": []}
    assert job(aws, ref).status == "succeeded"


def test_a_transient_then_a_permanent_error_fail_the_job_with_the_engines_message(
    aws: LocalAws, lambda_context: LambdaContext
) -> None:
    ScriptedEngine.SCRIPT.extend(
        [TransientEngineError("The engine is busy."), PermanentEngineError("This prompt cannot be rendered.")]
    )
    ref = queued(aws, "mgen_worker0006")
    _, message = deliver(aws, lambda_context)
    aws.sqs.change_message_visibility(
        QueueUrl=aws.generation_queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )

    result, _ = deliver(aws, lambda_context)

    assert result == {"batchItemFailures": []}
    failed = job(aws, ref)
    assert (failed.status, failed.error_message) == ("failed", "This prompt cannot be rendered.")
    assert failed.track is None


def test_at_the_last_receive_a_transient_error_fails_the_job(
    aws: LocalAws, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "1")
    reset_aws()
    ScriptedEngine.SCRIPT.extend([TransientEngineError("The engine is busy; please submit it again.")])
    ref = queued(aws, "mgen_worker0007")

    result, _ = deliver(aws, lambda_context)

    assert result == {"batchItemFailures": []}
    assert job(aws, ref).error_message == "The engine is busy; please submit it again."


def test_an_unexpected_error_is_retried_like_a_transient_one_then_fails_with_a_safe_message(
    aws: LocalAws, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.IMPLEMENTATIONS, "synth", "tests.helpers.engines:NoSuchEngine")
    ref = queued(aws, "mgen_worker0008")

    deliver(aws, lambda_context)

    assert (job(aws, ref).status, job(aws, ref).error_message) == ("failed", UNAVAILABLE_ENGINE)
    ScriptedEngine.SCRIPT.extend([RuntimeError("a bug, with details no user should read")])  # type: ignore[list-item]
    monkeypatch.setitem(registry.IMPLEMENTATIONS, "synth", "tests.helpers.engines:ScriptedEngine")
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "1")
    reset_aws()
    other = queued(aws, "mgen_worker0009")

    result, _ = deliver(aws, lambda_context)

    assert result == {"batchItemFailures": []}
    assert job(aws, other).error_message == UNEXPECTED


def test_a_request_the_content_policy_forbids_is_refused_without_echoing_it(
    aws: LocalAws, lambda_context: LambdaContext
) -> None:
    ref = queued(aws, "mgen_worker0010", prompt="a ballad in the voice of Freddie Mercury")

    result, _ = deliver(aws, lambda_context)

    assert result == {"batchItemFailures": []}
    refused = job(aws, ref)
    assert refused.status == "refused"
    assert refused.refusal_reason is not None
    assert "imitate" in refused.refusal_reason
    assert "Freddie" not in refused.refusal_reason
    assert refused.started_at is None  # judged before it started


def test_a_cancel_requested_while_it_runs_ends_it_cancelled_with_progress_frozen_and_no_audio(
    aws: LocalAws, lambda_context: LambdaContext
) -> None:
    aws.dynamodb.update_item(
        TableName=aws.jobs_table,
        Key={"pk": {"S": "CATALOGUE#ENGINES"}, "sk": {"S": "ENGINE#studio"}},
        UpdateExpression="SET implementation = :blocking",
        ExpressionAttributeValues={":blocking": {"S": "blocking"}},
    )
    before = audio_keys(aws)
    ref = queued(aws, "mgen_worker0011")
    results: list[dict[str, Any]] = []
    worker = threading.Thread(target=lambda: results.append(deliver(aws, lambda_context)[0]))
    worker.start()
    assert BlockingEngine.STARTED.wait(10)
    job_writer(aws).request_cancel(ref)
    worker.join(20)

    assert results == [{"batchItemFailures": []}]
    cancelled = job(aws, ref)
    assert cancelled.status == "cancelled"
    assert cancelled.track is None
    assert audio_keys(aws) == before


def sweep(aws: LocalAws, at: datetime) -> SweepResult:
    """One sweep at ``at``, as the DispatchSweeperFunction's role."""
    role = aws.function_credentials["DispatchSweeperFunction"]
    dynamodb = aws.client("dynamodb", role)
    indexes = AwaitingDispatch(dynamodb, aws.jobs_table), RunningJobs(dynamodb, aws.jobs_table)
    queue = GenerationQueue(aws.client("sqs", role), aws.generation_queue_url)
    writer = JobWriter(dynamodb, aws.jobs_table, clock=fixed_clock(at))
    return Sweeper(indexes, writer, queue, POLICY, clock=fixed_clock(at)).sweep()


def _key(ref: JobRef) -> dict[str, Any]:
    return {"pk": {"S": f"ORG#{ref.organization_id}#USER#{ref.user_id}"}, "sk": {"S": f"JOB#{ref.job_id}"}}


@pytest.mark.parametrize("how", ["killed", "timed-out", "crashed"])
def test_a_worker_that_dies_mid_run_leaves_a_job_the_sweeper_fails_after_the_lease(aws: LocalAws, how: str) -> None:
    ref = queued(aws, f"mgen_dies{how.replace('-', '')}")
    messages = aws.sqs.receive_message(
        QueueUrl=aws.generation_queue_url, MaxNumberOfMessages=1, AttributeNames=["All"], WaitTimeSeconds=1
    )["Messages"]
    event = json.dumps(sqs_event(messages, aws.arns["GenerationQueue"]))
    with subprocess.Popen(  # noqa: S603 - this interpreter, this repository's module
        [sys.executable, "-m", "tests.helpers.worker_process", how, event], stdout=subprocess.PIPE, text=True
    ) as worker:
        try:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "running"
            assert job(aws, ref).status == "running"
            if how == "killed":
                os.kill(worker.pid, signal.SIGKILL)
            assert worker.wait(timeout=10) != 0
        finally:
            if worker.poll() is None:
                worker.kill()
    beat = job(aws, ref).heartbeat_at
    assert beat is not None
    lease = POLICY.lease

    assert sweep(aws, beat + lease - timedelta(seconds=1)).stale == 0  # within the lease: left alone
    assert sweep(aws, beat + lease + timedelta(seconds=1)).stale == 1

    failed = job(aws, ref)
    assert (failed.status, failed.error_message, failed.track) == ("failed", STALE_MESSAGE, None)
    assert sweep(aws, beat + 2 * lease).stale == 0  # out of the index of running jobs


def test_a_worker_that_beat_after_the_sweeper_read_its_job_keeps_it(aws: LocalAws) -> None:
    ref = queued(aws, "mgen_alivestill")
    created = job(aws, ref).created_at  # the clocks run on from the job's creation (time never goes back on it)
    writer = job_writer(aws, clock=fixed_clock(created + timedelta(minutes=1)))
    writer.start(ref)
    seen = stored_item(aws, ref)
    assert seen is not None
    job_writer(aws, clock=fixed_clock(created + timedelta(minutes=2))).heartbeat(ref)

    with pytest.raises(IllegalTransitionError):
        writer.fail_stale(ref, seen["heartbeat_at"], STALE_MESSAGE)

    assert job(aws, ref).status == "running"
