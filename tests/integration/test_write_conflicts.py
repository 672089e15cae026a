"""A write that meets a DynamoDB transaction is retryable: the writer's 503, never a 500.

On the real service a single-item PutItem or UpdateItem fails with TransactionConflictException while a
TransactWriteItems (the job writer's ``succeed``) holds the item; a multi-Region strongly consistent global table
answers ReplicatedWriteConflictException in the same way. Neither moto nor DynamoDB Local ever raises them (both
lock whole tables), so botocore's Stubber answers the write here: on every operation of the job writer, and on
every route that writes (create and cancel), whose earlier reads are the moto server's own answers."""

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from cancel_generation.app import lambda_handler as cancel_handler
from create_generation.app import lambda_handler as create_handler
from music_api.core.dynamodb import StoreUnavailableError
from music_api.engines.store import CATALOGUE_PARTITION
from music_api.jobs.store import job_item
from music_api.jobs.writer import CLOCK_RETRIES, JobRef, JobWrite, JobWriter, NewJob
from music_local.emulator import LocalAws
from music_local.gateway import LambdaContext
from tests.helpers.aws import JOBS_TABLE, REGION
from tests.helpers.events import load_event
from tests.helpers.jobs import a_track, job_ref

CONFLICTS = ("TransactionConflictException", "ReplicatedWriteConflictException")
REF = job_ref("mgen_conflict0001")

# Each operation of the job writer and the one DynamoDB call it writes with.
WRITES: dict[str, tuple[str, Callable[[JobWriter, JobRef], JobWrite]]] = {
    "create": ("put_item", lambda writer, ref: writer.create(NewJob(ref, "studio", "creation"))),
    "start": ("update_item", lambda writer, ref: writer.start(ref)),
    "report_progress": ("update_item", lambda writer, ref: writer.report_progress(ref, 50)),
    "fail": ("update_item", lambda writer, ref: writer.fail(ref, "The engine failed.")),
    "fail_unscheduled": ("update_item", lambda writer, ref: writer.fail_unscheduled(ref, "Never started.")),
    "cancel": ("update_item", lambda writer, ref: writer.cancel(ref)),
    "request_cancel": ("update_item", lambda writer, ref: writer.request_cancel(ref)),
    "refuse": ("update_item", lambda writer, ref: writer.refuse(ref, "Not allowed.")),
    "record_dispatch": ("update_item", lambda writer, ref: writer.record_dispatch(ref)),
}


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    """A DynamoDB client that sends nothing: each call gets the next answer queued on its Stubber."""
    client = boto3.client("dynamodb", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize("code", CONFLICTS)
@pytest.mark.parametrize("operation", WRITES)
def test_each_single_item_write_that_meets_a_transaction_is_store_unavailable(
    stubbed: tuple[Any, Stubber], operation: str, code: str
) -> None:
    client, stubber = stubbed
    method, write = WRITES[operation]
    stubber.add_client_error(method, service_error_code=code, http_status_code=400)

    with pytest.raises(StoreUnavailableError):
        write(JobWriter(client, JOBS_TABLE), REF)


def test_succeeds_transaction_cancelled_by_a_conflict_is_store_unavailable(stubbed: tuple[Any, Stubber]) -> None:
    """succeed's own transaction reports a conflict as a cancellation reason, not as an error code."""
    client, stubber = stubbed
    stubber.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        http_status_code=400,
        modeled_fields={"CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}]},
    )

    with pytest.raises(StoreUnavailableError):
        JobWriter(client, JOBS_TABLE).succeed(REF, a_track())


def test_a_write_that_keeps_finding_a_later_job_gives_up_as_store_unavailable(stubbed: tuple[Any, Stubber]) -> None:
    """A writer whose clock is behind the job writes again at the job's time, but only a few times: each failure
    means another write landed in between, so after the last one it is a retryable conflict, never a loop."""
    client, stubber = stubbed
    for second in range(1, CLOCK_RETRIES + 1):  # each attempt finds the job written one second later still
        stamp = f"2099-01-01T00:00:0{second}Z"
        running = {"status": "running", "progress": 0, "started_at": stamp, "heartbeat_at": stamp, "version": 2}
        item = {"id": REF.job_id, "organization_id": REF.organization_id, "user_id": REF.user_id} | running
        item |= {"engine": "studio", "mode": "creation", "created_at": stamp, "updated_at": stamp}
        stubber.add_client_error(
            "update_item",
            service_error_code="ConditionalCheckFailedException",
            http_status_code=400,
            modeled_fields={"Item": job_item(item)},
        )

    with pytest.raises(StoreUnavailableError):
        JobWriter(client, JOBS_TABLE).heartbeat(REF)


# Each route that writes: its handler, its event, where it gets its DynamoDB client, and its write.
ROUTES = {
    "create": (create_handler, "create_generation.json", "music_api.routes.create_generation", "put_item"),
    "cancel": (cancel_handler, "cancel_generation_running.json", "music_api.routes.cancel_generation", "update_item"),
}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param((route, code), marks=pytest.mark.runs_as(function), id=f"{route}-{code}")
        for route, function in (("create", "CreateGenerationFunction"), ("cancel", "CancelGenerationFunction"))
        for code in CONFLICTS
    ],
)
def test_a_route_whose_write_meets_a_transaction_answers_a_retryable_503(
    aws: LocalAws,
    lambda_context: LambdaContext,
    stubbed: tuple[Any, Stubber],
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[str, str],
) -> None:
    """Create's write follows its read of the engine catalogue (the moto server's answer, replayed); cancel's is
    its first call: the one a worker's succeed can hold the job against."""
    client, stubber = stubbed
    route, code = case
    handler, event, module, write = ROUTES[route]
    if route == "create":
        catalogue = aws.dynamodb.query(
            TableName=aws.jobs_table,
            KeyConditionExpression="pk = :catalogue",
            ExpressionAttributeValues={":catalogue": {"S": CATALOGUE_PARTITION}},
        )
        stubber.add_response("query", {"Items": catalogue["Items"]})
    stubber.add_client_error(write, service_error_code=code, http_status_code=400)
    monkeypatch.setattr(f"{module}.dynamodb_client", lambda: client)

    response = handler(load_event(event), lambda_context)

    body = json.loads(response["body"])
    assert (response["statusCode"], body["error"]["code"], response["headers"].get("Retry-After")) == (
        503,
        "SERVICE_UNAVAILABLE",
        "1",
    )
