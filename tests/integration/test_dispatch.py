"""No job stays queued forever, against the moto server: create sends one message per job; when the queue is out
the job is created all the same, and the dispatch sweeper sends it once the queue is back, or fails it after the
maximum wait; the local stack's SQS event source hands the messages to the generation worker (the tests' tone
engine in the registry), or to the simulator for a prompt directive, and the jobs run to their end.

The sweeper runs on a clock the tests set (its writer records that clock too), signed as its own role; the queue
outage is create's own role denied every SQS call (the other tests create as the administrator, and read jobs
back through GET)."""

import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest

from create_generation.app import lambda_handler as create_handler
from generation_worker.app import lambda_handler as worker_handler
from music_api.dispatch.queue import GenerationQueue
from music_api.dispatch.sweeper import (
    UNSCHEDULED_MESSAGE,
    AwaitingDispatch,
    RunningJobs,
    Sweeper,
    SweepPolicy,
    SweepResult,
)
from music_api.jobs.store import JOBS_AWAITING_DISPATCH_INDEX
from music_api.jobs.writer import JobRef, JobWriter, NewJob
from music_api.worker import registry
from music_local import mp3
from music_local.emulator import LocalAws
from music_local.gateway import LambdaContext, LocalFunction
from music_local.queues import QueueConsumers
from music_local.scheduler import Scheduler
from music_local.simulator import CREATED_RUNNING_SECONDS, DEMO_AUDIO, SUBMITTED_ERROR_MESSAGE, Simulator
from music_local.stack import function_environment
from music_local.template import Schedule, local_template
from tests.helpers.aws import reset_aws
from tests.helpers.events import load_event
from tests.helpers.jobs import client_view, fixed_clock, job_ref, job_writer, stored_item
from tests.helpers.seed import ALICE, DEMO, ORG
from tests.helpers.world import DYNAMODB_LOCAL

pytestmark = pytest.mark.dynamodb(DYNAMODB_LOCAL)

GRACE = timedelta(seconds=120)
MAX_WAIT = timedelta(seconds=1800)
POLICY = SweepPolicy(GRACE, MAX_WAIT, max_jobs=100)
START = datetime(2026, 6, 28, 10, 30, tzinfo=UTC)


def create(lambda_context: LambdaContext, **changes: Any) -> tuple[int, dict[str, Any]]:
    event = load_event("create_generation.json")
    event["body"] = json.dumps({"engine": "studio", "prompt": "Warm lo-fi piano", "duration_seconds": 12} | changes)
    response = create_handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def messages(aws: LocalAws) -> list[dict[str, str]]:
    """The generation queue's messages, left on it (received with no visibility timeout)."""
    answer = aws.sqs.receive_message(
        QueueUrl=aws.generation_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=0
    )
    return [json.loads(message["Body"]) for message in answer.get("Messages", [])]


def queue_is_empty(aws: LocalAws) -> bool:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = aws.sqs.get_queue_attributes(QueueUrl=aws.generation_queue_url, AttributeNames=names)["Attributes"]
    return {attributes[name] for name in names} == {"0"}


def awaiting_dispatch(aws: LocalAws) -> list[str]:
    """The ids in the sweeper's index, in its order."""
    items = aws.dynamodb.scan(TableName=aws.jobs_table, IndexName=JOBS_AWAITING_DISPATCH_INDEX)["Items"]
    return [item["id"]["S"] for item in sorted(items, key=lambda item: item["created_key"]["S"])]


def sweep(aws: LocalAws, at: datetime) -> SweepResult:
    """One sweep at ``at``, as the DispatchSweeperFunction's role."""
    role = aws.function_credentials["DispatchSweeperFunction"]
    dynamodb = aws.client("dynamodb", role)
    writer = JobWriter(dynamodb, aws.jobs_table, clock=fixed_clock(at))
    queue = GenerationQueue(aws.client("sqs", role), aws.generation_queue_url)
    indexes = AwaitingDispatch(dynamodb, aws.jobs_table), RunningJobs(dynamodb, aws.jobs_table)
    return Sweeper(indexes, writer, queue, POLICY, clock=fixed_clock(at)).sweep()


def create_at(aws: LocalAws, ref: JobRef, moment: datetime) -> None:
    """A job created through the job writer at ``moment``, whose message was lost: none was sent."""
    JobWriter(aws.dynamodb, aws.jobs_table, clock=fixed_clock(moment)).create(NewJob(ref, "studio", "creation"), {})


def created_at(job: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(job["created_at"])


def ref_of(job: dict[str, Any]) -> JobRef:
    return job_ref(job["id"])


class InProcessWorker:
    """GenerationWorkerFunction's handler in the test's own process (where the test engines are registered), signed
    as its own role whatever role the test runs as."""

    def __init__(self, aws: LocalAws) -> None:
        self._credentials = aws.function_credentials["GenerationWorkerFunction"].environment()

    def invoke(self, event: dict[str, Any]) -> Any:
        with mock.patch.dict(os.environ, self._credentials):
            reset_aws()
            try:
                return worker_handler(event, LambdaContext(function_name="GenerationWorkerFunction"))
            finally:
                reset_aws()


class Worker:
    """What the local stack does with the generation queue, one poll per tick: a message whose job's prompt holds a
    directive to the simulator (on a clock the test moves), any other to the generation worker."""

    def __init__(self, aws: LocalAws) -> None:
        self.now = 1_800_000_000.0
        self.simulator = Simulator(aws, audio=DEMO_AUDIO.read_bytes(), clock=lambda: self.now)
        template = local_template()
        (self.event,) = [event for event in template.queue_events() if event.function == "GenerationWorkerFunction"]
        claims = {self.event.function: self.simulator.claim}
        self.consumers = QueueConsumers(
            template, aws, {self.event.function: {}}, claims=claims, only={self.event.function}
        )
        self.worker = InProcessWorker(aws)

    def tick_after(self, seconds: float) -> None:
        self.now += seconds
        while self.consumers.poll_once(self.event, self.worker):
            pass
        self.simulator.tick()


@pytest.fixture(autouse=True)
def tone_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.IMPLEMENTATIONS, "synth", "tests.helpers.engines:ToneEngine")
    registry.engine_for.cache_clear()


@pytest.fixture(autouse=True)
def only_this_tests_jobs_are_queued(aws: LocalAws) -> None:
    """The demo's simulated jobs are written queued through the job writer, so they wait in the sweeper's index
    too: take them out, so that each sweep here counts the test's own jobs."""
    for job, _ in DEMO.simulated:
        aws.delete_job(job.ref.organization_id, job.ref.user_id, job.ref.job_id)


@pytest.fixture
def deny_sends(aws: LocalAws) -> Callable[[str], Callable[[], None]]:
    """Deny a role every SQS call, as an outage of the queue looks to it; returns how to lift the denial."""
    iam = aws.client("iam")

    def deny(function: str) -> Callable[[], None]:
        everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "sqs:*", "Resource": "*"}]}
        role = f"{function}Role"
        iam.put_role_policy(RoleName=role, PolicyName="queue-outage", PolicyDocument=json.dumps(everything))
        return lambda: iam.delete_role_policy(RoleName=role, PolicyName="queue-outage")

    return deny


def test_each_created_job_is_sent_once_by_its_key_alone(aws: LocalAws, lambda_context: LambdaContext) -> None:
    _, first = create(lambda_context)
    _, second = create(lambda_context, prompt="Another one")

    sent = messages(aws)

    assert sorted(sent, key=lambda body: body["job_id"]) == sorted(
        ({"organization_id": ORG, "user_id": ALICE, "job_id": job["id"]} for job in (first, second)),
        key=lambda body: body["job_id"],
    )
    assert sorted(awaiting_dispatch(aws)) == sorted([first["id"], second["id"]])


def test_a_created_job_runs_to_success_with_audio_of_its_duration(aws: LocalAws, lambda_context: LambdaContext) -> None:
    _, job = create(lambda_context, duration_seconds=45, title="Night Bus", instrumental=True)
    worker = Worker(aws)

    worker.tick_after(0)

    body = client_view(ref_of(job)).body
    assert (body["status"], body["progress"], body["track"]["title"]) == ("succeeded", 100, "Night Bus")
    assert body["track"]["instrumental"] is True
    assert body["track"]["licence_class"] == "commercial_cleared"  # the studio engine's, from the catalogue
    item = stored_item(aws, ref_of(job))
    assert item is not None
    audio = aws.s3.get_object(Bucket=aws.bucket, Key=item["track"]["audio_key"])
    assert audio["ContentType"] == "audio/mpeg"
    seconds = mp3.duration_seconds(audio["Body"].read())
    assert abs(seconds - 45) < 0.1
    assert body["track"]["measured_duration_seconds"] == pytest.approx(45, abs=0.001)  # as the engine measured
    assert awaiting_dispatch(aws) == []
    assert queue_is_empty(aws)  # the message was deleted once the job was done


@pytest.mark.parametrize(
    "ending",
    [
        ("[simulate:failed]", "failed", "error_message", SUBMITTED_ERROR_MESSAGE),
        ("[simulate:refused]", "refused", "refusal_reason", "The simulated engine refused this request."),
    ],
)
def test_a_prompt_directive_makes_a_created_job_fail_or_be_refused(
    aws: LocalAws, lambda_context: LambdaContext, ending: tuple[str, str, str, str]
) -> None:
    directive, status, field, value = ending
    _, job = create(lambda_context, prompt=f"Warm lo-fi piano {directive}")
    worker = Worker(aws)

    for _ in range(3):
        worker.tick_after(CREATED_RUNNING_SECONDS)

    body = client_view(ref_of(job)).body
    assert (body["status"], body[field], body["track"]) == (status, value, None)
    assert queue_is_empty(aws)


def test_a_message_for_a_job_no_longer_queued_is_done(aws: LocalAws, lambda_context: LambdaContext) -> None:
    _, job = create(lambda_context)
    job_writer(aws).request_cancel(ref_of(job))
    before = stored_item(aws, ref_of(job))
    worker = Worker(aws)

    worker.tick_after(0)

    assert stored_item(aws, ref_of(job)) == before
    assert queue_is_empty(aws)


def test_a_cancel_asked_while_a_directed_job_runs_ends_it_at_the_next_tick(
    aws: LocalAws, lambda_context: LambdaContext
) -> None:
    _, job = create(lambda_context, prompt="Warm lo-fi piano [simulate:failed]")
    worker = Worker(aws)
    worker.tick_after(0)
    worker.tick_after(1)
    job_writer(aws).request_cancel(ref_of(job))

    worker.tick_after(0.2)
    worker.tick_after(0.2)

    assert client_view(ref_of(job)).body["status"] == "cancelled"
    assert queue_is_empty(aws)


@pytest.mark.runs_as("CreateGenerationFunction")
def test_a_queue_outage_loses_no_job(
    aws: LocalAws, lambda_context: LambdaContext, deny_sends: Callable[[str], Callable[[], None]]
) -> None:
    """The send is denied: 202 all the same, the job queued and in the sweeper's index; once the queue is back the
    sweeper sends it, and the worker takes it to the end."""
    lift = deny_sends("CreateGenerationFunction")
    lift_sweeper = deny_sends("DispatchSweeperFunction")

    status, job = create(lambda_context)

    assert (status, job["status"]) == (202, "queued")
    assert messages(aws) == []
    assert job["id"] in awaiting_dispatch(aws)
    born = created_at(job)
    assert sweep(aws, born + GRACE - timedelta(seconds=1)) == SweepResult()  # within the grace: not yet
    assert sweep(aws, born + GRACE) == SweepResult(failed_sends=1)  # the queue is still out for the sweeper too
    lift()
    lift_sweeper()

    result = sweep(aws, born + GRACE + timedelta(minutes=1))

    assert result == SweepResult(redispatched=1)
    assert messages(aws) == [{"organization_id": ORG, "user_id": ALICE, "job_id": job["id"]}]
    worker = Worker(aws)
    worker.tick_after(0)
    worker.tick_after(CREATED_RUNNING_SECONDS + 0.2)
    item = stored_item(aws, ref_of(job))  # as the administrator: this test signs as create's role
    assert item is not None
    assert item["status"] == "succeeded"
    assert job["id"] not in awaiting_dispatch(aws)
    assert sweep(aws, born + MAX_WAIT) == SweepResult()  # nothing left to do


def test_when_the_queue_never_comes_back_the_job_fails_after_the_maximum_wait(
    aws: LocalAws, lambda_context: LambdaContext
) -> None:
    aws.sqs.delete_queue(QueueUrl=aws.generation_queue_url)

    status, job = create(lambda_context)

    assert (status, job["status"]) == (202, "queued")
    born = created_at(job)
    assert sweep(aws, born + MAX_WAIT - timedelta(seconds=1)).failed_sends == 1
    assert sweep(aws, born + MAX_WAIT) == SweepResult(unscheduled=1)
    body = client_view(ref_of(job)).body
    assert (body["status"], body["error_message"]) == ("failed", UNSCHEDULED_MESSAGE)
    assert job["id"] not in awaiting_dispatch(aws)
    assert sweep(aws, born + 2 * MAX_WAIT) == SweepResult()


def test_a_job_a_worker_starts_while_the_sweep_runs_is_not_failed(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweeper read the job from its index when it was still queued past the maximum wait; a worker starts it
    before the sweeper's write: the job keeps running (the worker's), counted as moved on."""
    ref = job_ref("mgen_latestarter01")
    create_at(aws, ref, START)
    read_index = AwaitingDispatch.created_by

    def a_worker_starts_it_after_the_read(self: AwaitingDispatch, moment: datetime, limit: int) -> Iterator[Any]:
        jobs = list(read_index(self, moment, limit))
        JobWriter(aws.dynamodb, aws.jobs_table).start(ref)
        return iter(jobs)

    monkeypatch.setattr(AwaitingDispatch, "created_by", a_worker_starts_it_after_the_read)

    assert sweep(aws, START + MAX_WAIT) == SweepResult(moved_on=1)
    item = stored_item(aws, ref)
    assert item is not None
    assert (item["status"], item.get("error_message")) == ("running", None)


def test_a_lost_message_is_sent_again_after_the_grace_then_ever_less_often(aws: LocalAws) -> None:
    """One sweep a minute for the whole wait: re-sends at 2, 6 and 14 minutes (the interval doubles), then the job
    is failed at 30 minutes."""
    ref = job_ref("mgen_lostmessage01")
    create_at(aws, ref, START)

    results = {minute: sweep(aws, START + timedelta(minutes=minute)) for minute in range(0, 32)}

    assert [minute for minute, result in results.items() if result.redispatched] == [2, 6, 14]
    assert [minute for minute, result in results.items() if result.unscheduled] == [30]
    assert len(messages(aws)) == 3
    item = stored_item(aws, ref)
    assert item is not None
    assert (item["status"], item["dispatch_count"], item["error_message"]) == ("failed", 3, UNSCHEDULED_MESSAGE)


def test_the_oldest_jobs_are_swept_first_and_a_sweep_is_bounded(aws: LocalAws) -> None:
    refs = [job_ref(f"mgen_oldestfirst{number:02d}") for number in range(5)]
    for minute, ref in enumerate(refs):
        create_at(aws, ref, START + timedelta(minutes=minute))
    role = aws.function_credentials["DispatchSweeperFunction"]
    awaiting = AwaitingDispatch(aws.client("dynamodb", role), aws.jobs_table)

    oldest = [job.id for job in awaiting.created_by(START + timedelta(hours=1), limit=3)]

    assert oldest == [ref.job_id for ref in refs[:3]]
    assert [job.id for job in awaiting.created_by(START + timedelta(minutes=2), limit=10)] == oldest


def test_the_local_stack_runs_the_sweeper_on_its_schedule_as_its_role(aws: LocalAws) -> None:
    """The scheduler invokes the template's function (its code, environment and role) with a scheduled event: a
    job queued past the maximum wait is failed within a few of its (shortened) periods."""
    ref = job_ref("mgen_onschedule01")
    create_at(aws, ref, datetime.now(UTC) - MAX_WAIT)
    template = local_template()
    sweeper = LocalFunction(
        template, "DispatchSweeperFunction", function_environment(template, aws, "DispatchSweeperFunction", "WARNING")
    )
    scheduler = Scheduler([Schedule("DispatchSweeperFunction", "Sweep", period_seconds=1)], {sweeper.name: sweeper})

    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while (item := stored_item(aws, ref)) is not None and item["status"] == "queued":
            assert time.monotonic() < deadline, "no sweep within 10 s"
            time.sleep(0.1)
    finally:
        scheduler.stop()

    assert item is not None
    assert (item["status"], item["error_message"]) == ("failed", UNSCHEDULED_MESSAGE)


def test_a_corrupt_entry_in_the_index_is_logged_and_passed_over(aws: LocalAws) -> None:
    """One bad item must not stop every sweep: the jobs after it are still swept."""
    create_at(aws, job_ref("mgen_sweptafter01"), START + timedelta(minutes=1))
    corrupt = {"pk": {"S": f"ORG#{ORG}#USER#{ALICE}"}, "sk": {"S": "JOB#mgen_corrupt0001"}, "id": {"S": "not-an-id"}}
    aws.dynamodb.put_item(
        TableName=aws.jobs_table,
        Item=corrupt
        | {"organization_id": {"S": ORG}, "user_id": {"S": ALICE}, "created_at": {"S": "2026-06-28T10:30:00Z"}}
        | {"dispatch_pk": {"S": "QUEUED"}, "created_key": {"S": "2026-06-28T10:30:00Z#mgen_corrupt0001"}},
    )

    result = sweep(aws, START + MAX_WAIT + timedelta(minutes=1))

    assert result == SweepResult(unscheduled=1)
    item = stored_item(aws, job_ref("mgen_sweptafter01"))
    assert item is not None
    assert item["status"] == "failed"
