"""Which stream records are webhook events: a job's terminal transition, once, when it asked for one."""

import json
from typing import Any

import pytest

from music_api.core.dynamodb import to_item
from music_api.jobs.store import job_item
from music_api.webhooks.events import WebhookEvent, event_id, transition_message

JOB: dict[str, Any] = {
    "id": "mgen_0000000000000001",
    "organization_id": "org_abc123",
    "user_id": "usr_alice01",
    "status": "queued",
    "progress": 0,
    "engine": "studio",
    "mode": "creation",
    "created_at": "2026-06-28T10:30:00Z",
    "request": {"prompt": "rain", "webhook_url": "https://hooks.example.com/x"},
}


def record(old: dict[str, Any] | None, new: dict[str, Any], event_name: str = "MODIFY") -> dict[str, Any]:
    images = {"NewImage": job_item(new)} | ({"OldImage": job_item(old)} if old else {})
    return {"eventName": event_name, "dynamodb": images}


def ended(status: str, **values: Any) -> dict[str, Any]:
    return JOB | {"status": status, "finished_at": "2026-06-28T10:31:00Z"} | values


@pytest.mark.parametrize(
    ("new", "event_type"),
    [
        (ended("failed", error_message="The engine could not finish."), "generation.failed"),
        (ended("cancelled"), "generation.cancelled"),
        (ended("refused", refusal_reason="Not allowed."), "generation.refused"),
    ],
)
def test_a_terminal_transition_is_one_event_with_a_stable_id(new: dict[str, Any], event_type: str) -> None:
    message = transition_message(record(JOB, new))

    assert message is not None
    assert message.type == event_type
    assert message.id == event_id("org_abc123", "usr_alice01", "mgen_0000000000000001", new["status"])
    assert message.url == "https://hooks.example.com/x"
    event = json.loads(message.body)
    WebhookEvent.model_validate(event)
    assert (event["type"], event["timestamp"], event["data"]["status"]) == (
        event_type,
        "2026-06-28T10:31:00Z",
        new["status"],
    )
    assert transition_message(record(JOB, new)) == message  # the stream's repeat is the same event


@pytest.mark.parametrize(
    "stream_record",
    [
        record(None, JOB, "INSERT"),  # created
        record(JOB, JOB | {"status": "running"}),  # started
        record(ended("cancelled"), ended("cancelled", progress=5)),  # a later write of an ended job
        record(JOB, ended("cancelled", request={"prompt": "rain"})),  # no webhook asked for
        {"eventName": "INSERT", "dynamodb": {"NewImage": to_item({"pk": "ORG#x#TRACKS", "sk": "TRACK#t"})}},
        {"eventName": "REMOVE", "dynamodb": {"OldImage": job_item(JOB)}},
    ],
)
def test_other_records_are_no_event(stream_record: dict[str, Any]) -> None:
    assert transition_message(stream_record) is None
