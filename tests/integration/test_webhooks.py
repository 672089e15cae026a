"""Completion webhooks end to end on the local stack's pieces: the job writer's transitions go through the jobs
table's stream, the trigger and the webhook queue to the delivery function, which posts to a loopback receiver.
Every request the receiver gets is verified with the Standard Webhooks library."""

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from music_admin.webhook_secrets import WebhookSecrets
from music_api.jobs.writer import JobRef, JobWriter, NewJob
from music_api.webhooks.events import event_id
from music_api.webhooks.store import gone_key
from music_local.emulator import LocalAws
from tests.helpers.jobs import a_track, job_ref, job_writer
from tests.helpers.scripted_server import Answer, ScriptedServer
from tests.helpers.seed import ALICE, ORG
from tests.helpers.webhooks import queue_empty, verified, wait_for, webhook_pipeline

HOOK = "/hooks/music"


@pytest.fixture
def receiver() -> Iterator[ScriptedServer]:
    with ScriptedServer().running() as server:
        yield server


@pytest.fixture
def secret(aws: LocalAws) -> str:
    return WebhookSecrets(aws.dynamodb, aws.auth_table).create_secret(ORG)


def created(writer: JobWriter, job_id: str, webhook_url: str | None) -> JobRef:
    ref = job_ref(job_id)
    request = {"engine": "studio", "prompt": "rain on a tin roof", "duration_seconds": 30}
    writer.create(
        NewJob(ref, engine="studio", mode="creation"), request | ({"webhook_url": webhook_url} if webhook_url else {})
    )
    return ref


def test_one_verified_event_per_terminal_transition(aws: LocalAws, receiver: ScriptedServer, secret: str) -> None:
    receiver.script(HOOK, Answer(204))
    writer = job_writer(aws)
    url = receiver.url + HOOK
    with webhook_pipeline(aws):
        succeeded, failed, cancelled, refused = (created(writer, f"mgen_hook{n:012d}", url) for n in range(4))
        silent = created(writer, "mgen_nohook000000001", None)
        writer.start(succeeded)
        writer.report_progress(succeeded, 50)
        writer.succeed(succeeded, a_track())
        writer.succeed(succeeded, a_track())  # a repeat writes nothing, so sends nothing
        writer.fail(failed, "The engine could not finish.")
        writer.request_cancel(cancelled)
        writer.refuse(refused, "The prompt names an artist.")
        writer.cancel(silent)
        wait_for(lambda: len(receiver.requests_to(HOOK)) >= 4)
        wait_for(lambda: queue_empty(aws))  # nothing more on its way
    events = [verified(request, secret) for request in receiver.requests_to(HOOK)]
    assert len(events) == 4
    by_job = {event["data"]["id"]: event for event in events}
    assert by_job[succeeded.job_id]["type"] == "generation.succeeded"
    assert by_job[failed.job_id]["type"] == "generation.failed"
    assert by_job[cancelled.job_id]["type"] == "generation.cancelled"
    assert by_job[refused.job_id]["type"] == "generation.refused"
    done = by_job[succeeded.job_id]["data"]
    assert (done["status"], done["track"]["id"]) == ("succeeded", "mtrack_written01")
    assert {"playback_url", "playback_url_expires_at"}.isdisjoint(done)
    assert "playback_url" not in done["track"]
    assert by_job[failed.job_id]["data"]["error_message"] == "The engine could not finish."
    for request in receiver.requests_to(HOOK):
        data = json.loads(request.body)["data"]
        assert request.headers["webhook-id"] == event_id(ORG, ALICE, data["id"], data["status"])


def test_a_receiver_failing_twice_gets_the_same_event_three_times(
    aws: LocalAws, receiver: ScriptedServer, secret: str
) -> None:
    receiver.script(HOOK, Answer(500), Answer(302, headers={"Location": receiver.url + "/elsewhere"}), Answer(200))
    writer = job_writer(aws)
    with webhook_pipeline(aws):
        ref = created(writer, "mgen_retried00000001", receiver.url + HOOK)
        writer.cancel(ref)
        wait_for(lambda: len(receiver.requests_to(HOOK)) >= 3)
        wait_for(lambda: queue_empty(aws))
    requests = receiver.requests_to(HOOK)
    assert len(requests) == 3
    assert len({request.headers["webhook-id"] for request in requests}) == 1
    assert [verified(request, secret)["type"] for request in requests] == ["generation.cancelled"] * 3
    assert receiver.requests_to("/elsewhere") == []  # the redirect was an answer, never followed
    # Each attempt is signed at its own time; the waits grew (about 1 s, then about 2 s).
    first, second, third = (request.at for request in requests)
    assert second - first >= 0.5
    assert third - second >= 1


def test_a_receiver_answering_410_gets_no_more_events(aws: LocalAws, receiver: ScriptedServer, secret: str) -> None:
    receiver.script(HOOK, Answer(410))
    writer = job_writer(aws)
    url = receiver.url + HOOK
    with webhook_pipeline(aws):
        first = created(writer, "mgen_gone0000000001", url)
        writer.cancel(first)
        wait_for(lambda: len(receiver.requests_to(HOOK)) == 1)
        second = created(writer, "mgen_gone0000000002", url)
        writer.cancel(second)
        wait_for(lambda: queue_empty(aws))
    assert len(receiver.requests_to(HOOK)) == 1
    verified(receiver.requests_to(HOOK)[0], secret)
    gone = aws.dynamodb.get_item(TableName=aws.auth_table, Key=gone_key(ORG, url))["Item"]
    assert gone["job_id"]["S"] == first.job_id


def test_during_a_rotation_both_secrets_sign(aws: LocalAws, receiver: ScriptedServer, secret: str) -> None:
    receiver.script(HOOK, Answer(200))
    rotated = WebhookSecrets(aws.dynamodb, aws.auth_table).rotate_secret(ORG, timedelta(hours=1))
    writer = job_writer(aws)
    with webhook_pipeline(aws):
        writer.cancel(created(writer, "mgen_rotated0000001", receiver.url + HOOK))
        wait_for(lambda: len(receiver.requests_to(HOOK)) == 1)
    request = receiver.requests_to(HOOK)[0]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    verified(request, secret)
    verified(request, rotated)


def test_an_event_that_cannot_be_delivered_is_dead_lettered_with_its_reason(
    aws: LocalAws, receiver: ScriptedServer
) -> None:
    writer = job_writer(aws)  # no signing secret for the organization: nothing may be sent unsigned
    dead_letters = aws.queue_urls["WebhookDeadLetterQueue"]
    with webhook_pipeline(aws):
        writer.cancel(created(writer, "mgen_unsigned000001", receiver.url + HOOK))
        wait_for(lambda: queue_empty(aws) and _visible(aws, dead_letters) == 1)
    (message,) = aws.sqs.receive_message(QueueUrl=dead_letters, MessageAttributeNames=["All"])["Messages"]
    assert message["MessageAttributes"]["reason"]["StringValue"] == "no signing secret"
    assert json.loads(message["Body"])["type"] == "generation.cancelled"
    assert receiver.received == []


def _visible(aws: LocalAws, queue_url: str) -> int:
    attributes = aws.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])
