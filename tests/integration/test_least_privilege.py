"""The local stack enforces IAM: each function signs with its own execution role, whose policy is the one
template.yaml gives it, so a call the template does not allow fails locally as it would on AWS.

moto evaluates policies by action; for DynamoDB it ignores the resource and conditions, and it cannot check a
presigned URL (the emulator lets those past its IAM check). Those limits are pinned here too, so that
docs/security.md stays true if moto changes.
"""

import json
import re
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from get_generation.app import lambda_handler as get_generation_handler
from music_api.authorizer.keys import digest_of
from music_api.authorizer.store import api_key_key
from music_api.jobs.store import AWAITING_DISPATCH, JOBS_AWAITING_DISPATCH_INDEX, job_key, track_key
from music_local.emulator import Credentials, LocalAws, execution_role_policy
from music_local.gateway import HttpRequest, LambdaContext, LocalGateway
from music_local.metering import UsagePlanMeter
from music_local.stack import local_functions
from music_local.template import local_template
from tests.helpers.events import load_event
from tests.helpers.seed import ALICE, ALICE_KEY, ORG, SEED_JOB_ID, SEED_TRACK_ID

SEED_PATH = f"/v1/music/{ORG}/generations/{SEED_JOB_ID}"
SEED_AUDIO = f"audio/{ORG}/{SEED_TRACK_ID}.mp3"


def refused(call: Callable[[], object]) -> str:
    """The error code of a call that IAM refuses (moto answers DynamoDB's refusal in IAM's XML: code 403)."""
    with pytest.raises(ClientError) as raised:
        call()
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return str(raised.value)


SEED_JOB_KEY = job_key(ORG, ALICE, SEED_JOB_ID)
ALICE_KEY_ITEM = api_key_key(digest_of(ALICE_KEY))

GET_GENERATION_ALLOWED: dict[str, Callable[[Any, Any, LocalAws], object]] = {
    "GetItem on the jobs table": lambda db, s3, aws: db.get_item(TableName=aws.jobs_table, Key=SEED_JOB_KEY),
    "GetObject under audio/": lambda db, s3, aws: s3.get_object(Bucket=aws.bucket, Key=SEED_AUDIO),
}
GET_GENERATION_REFUSED: dict[str, Callable[[Any, Any, LocalAws], object]] = {
    "Query": lambda db, s3, aws: db.query(
        TableName=aws.jobs_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": SEED_JOB_KEY["pk"]},
    ),
    "Scan": lambda db, s3, aws: db.scan(TableName=aws.jobs_table),
    "PutItem": lambda db, s3, aws: db.put_item(TableName=aws.jobs_table, Item=SEED_JOB_KEY),
    "UpdateItem": lambda db, s3, aws: db.update_item(
        TableName=aws.jobs_table,
        Key=SEED_JOB_KEY,
        UpdateExpression="SET progress = :p",
        ExpressionAttributeValues={":p": {"N": "1"}},
    ),
    "DeleteItem": lambda db, s3, aws: db.delete_item(TableName=aws.jobs_table, Key=SEED_JOB_KEY),
    "PutObject under audio/": lambda db, s3, aws: s3.put_object(Bucket=aws.bucket, Key=SEED_AUDIO, Body=b"x"),
    "GetObject outside audio/": lambda db, s3, aws: s3.get_object(Bucket=aws.bucket, Key="private/x"),
    "ListBucket": lambda db, s3, aws: s3.list_objects_v2(Bucket=aws.bucket),
}
AUTHORIZER_ALLOWED: dict[str, Callable[[Any, Any, LocalAws], object]] = {
    "GetItem on the auth table": lambda db, s3, aws: db.get_item(TableName=aws.auth_table, Key=ALICE_KEY_ITEM),
}
AUTHORIZER_REFUSED: dict[str, Callable[[Any, Any, LocalAws], object]] = {
    "Query": lambda db, s3, aws: db.query(
        TableName=aws.auth_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"USER#{ALICE}"}},
    ),
    "BatchGetItem": lambda db, s3, aws: db.batch_get_item(RequestItems={aws.auth_table: {"Keys": [ALICE_KEY_ITEM]}}),
    "PutItem": lambda db, s3, aws: db.put_item(TableName=aws.auth_table, Item=ALICE_KEY_ITEM),
    "UpdateItem (revoke a key)": lambda db, s3, aws: db.update_item(
        TableName=aws.auth_table,
        Key=ALICE_KEY_ITEM,
        UpdateExpression="SET #s = :r",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":r": {"S": "revoked"}},
    ),
    "TransactWriteItems": lambda db, s3, aws: db.transact_write_items(
        TransactItems=[
            {
                "ConditionCheck": {
                    "TableName": aws.auth_table,
                    "Key": ALICE_KEY_ITEM,
                    "ConditionExpression": "attribute_exists(pk)",
                }
            }
        ]
    ),
    "GetObject": lambda db, s3, aws: s3.get_object(Bucket=aws.bucket, Key=SEED_AUDIO),
}
SEED_TRACK_KEY = track_key(ORG, ALICE, SEED_TRACK_ID)
SEED_STEM = f"audio/{ORG}/{SEED_TRACK_ID}/vocals.mp3"
GET_TRACK_ALLOWED: dict[str, Callable[[Any, Any, LocalAws], object]] = {
    "GetItem on a track key": lambda db, s3, aws: db.get_item(TableName=aws.jobs_table, Key=SEED_TRACK_KEY),
    "GetObject of a stem under audio/": lambda db, s3, aws: s3.get_object(Bucket=aws.bucket, Key=SEED_STEM),
}
GET_TRACK_REFUSED: dict[str, Callable[[Any, Any, LocalAws], object]] = {
    "Query": lambda db, s3, aws: db.query(
        TableName=aws.jobs_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": SEED_TRACK_KEY["pk"]},
    ),
    "Scan": lambda db, s3, aws: db.scan(TableName=aws.jobs_table),
    "PutItem": lambda db, s3, aws: db.put_item(TableName=aws.jobs_table, Item=SEED_TRACK_KEY),
    "DeleteItem": lambda db, s3, aws: db.delete_item(TableName=aws.jobs_table, Key=SEED_TRACK_KEY),
    "PutObject under audio/": lambda db, s3, aws: s3.put_object(Bucket=aws.bucket, Key=SEED_STEM, Body=b"x"),
    "GetObject outside audio/": lambda db, s3, aws: s3.get_object(Bucket=aws.bucket, Key="private/x"),
    "ListBucket": lambda db, s3, aws: s3.list_objects_v2(Bucket=aws.bucket),
}
SWEEPER_ALLOWED: dict[str, Callable[[Any, Any, LocalAws], object]] = {
    "Query on the awaiting-dispatch index": lambda db, s3, aws: db.query(
        TableName=aws.jobs_table,
        IndexName=JOBS_AWAITING_DISPATCH_INDEX,
        KeyConditionExpression="dispatch_pk = :queued",
        ExpressionAttributeValues={":queued": {"S": AWAITING_DISPATCH}},
    ),
    "UpdateItem on a job": lambda db, s3, aws: db.update_item(
        TableName=aws.jobs_table,
        Key=SEED_JOB_KEY,
        UpdateExpression="SET progress = :p",
        ExpressionAttributeValues={":p": {"N": "100"}},
    ),
}
SWEEPER_REFUSED: dict[str, Callable[[Any, Any, LocalAws], object]] = {
    "GetItem": lambda db, s3, aws: db.get_item(TableName=aws.jobs_table, Key=SEED_JOB_KEY),
    "Scan": lambda db, s3, aws: db.scan(TableName=aws.jobs_table),
    "PutItem": lambda db, s3, aws: db.put_item(TableName=aws.jobs_table, Item=SEED_JOB_KEY),
    "DeleteItem": lambda db, s3, aws: db.delete_item(TableName=aws.jobs_table, Key=SEED_JOB_KEY),
    "GetObject": lambda db, s3, aws: s3.get_object(Bucket=aws.bucket, Key=SEED_AUDIO),
}
WORKER_ALLOWED: dict[str, Callable[[Any, Any, LocalAws], object]] = {
    "GetItem on a job": lambda db, s3, aws: db.get_item(TableName=aws.jobs_table, Key=SEED_JOB_KEY),
    "UpdateItem on a job": lambda db, s3, aws: db.update_item(
        TableName=aws.jobs_table,
        Key=SEED_JOB_KEY,
        UpdateExpression="SET progress = :p",
        ExpressionAttributeValues={":p": {"N": "100"}},
    ),
    "Query of the catalogue": lambda db, s3, aws: db.query(
        TableName=aws.jobs_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "CATALOGUE#POLICY"}},
    ),
    "PutObject under audio/": lambda db, s3, aws: s3.put_object(
        Bucket=aws.bucket, Key=f"audio/{ORG}/mtrack_workerput1.mp3", Body=b"x"
    ),
    "DeleteObject under audio/": lambda db, s3, aws: s3.delete_object(
        Bucket=aws.bucket, Key=f"audio/{ORG}/mtrack_workerput1.mp3"
    ),
}
WORKER_REFUSED: dict[str, Callable[[Any, Any, LocalAws], object]] = {
    "Scan": lambda db, s3, aws: db.scan(TableName=aws.jobs_table),
    "DeleteItem": lambda db, s3, aws: db.delete_item(TableName=aws.jobs_table, Key=SEED_JOB_KEY),
    "BatchGetItem": lambda db, s3, aws: db.batch_get_item(RequestItems={aws.jobs_table: {"Keys": [SEED_JOB_KEY]}}),
    "GetObject under audio/": lambda db, s3, aws: s3.get_object(Bucket=aws.bucket, Key=SEED_AUDIO),
    "PutObject outside audio/": lambda db, s3, aws: s3.put_object(Bucket=aws.bucket, Key="private/x", Body=b"x"),
    "ListBucket": lambda db, s3, aws: s3.list_objects_v2(Bucket=aws.bucket),
}
MATRIX = [
    ("GetGenerationFunction", GET_GENERATION_ALLOWED, GET_GENERATION_REFUSED),
    ("GetTrackFunction", GET_TRACK_ALLOWED, GET_TRACK_REFUSED),
    ("AuthorizerFunction", AUTHORIZER_ALLOWED, AUTHORIZER_REFUSED),
    ("DispatchSweeperFunction", SWEEPER_ALLOWED, SWEEPER_REFUSED),
    ("GenerationWorkerFunction", WORKER_ALLOWED, WORKER_REFUSED),
]


def send_to(queue: str) -> Callable[[Any, LocalAws], object]:
    return lambda sqs, aws: sqs.send_message(QueueUrl=aws.queue_urls[queue], MessageBody="{}")


# The queues: create and the sweeper may send to the generation queue, nothing more; moto checks SQS calls against
# the queue's ARN, so sending to the dead-letter queue is refused as on AWS.
QUEUE_ALLOWED = {"SendMessage to the generation queue": send_to("GenerationQueue")}
QUEUE_REFUSED: dict[str, Callable[[Any, LocalAws], object]] = {
    "SendMessage to the dead-letter queue": send_to("GenerationDeadLetterQueue"),
    "ReceiveMessage": lambda sqs, aws: sqs.receive_message(QueueUrl=aws.generation_queue_url),
    "PurgeQueue": lambda sqs, aws: sqs.purge_queue(QueueUrl=aws.generation_queue_url),
    "DeleteQueue": lambda sqs, aws: sqs.delete_queue(QueueUrl=aws.generation_queue_url),
}
QUEUE_SENDERS = ["CreateGenerationFunction", "DispatchSweeperFunction"]
# The worker consumes the generation queue and sends nowhere (a retry sets its message's visibility).
CONSUMER_ALLOWED: dict[str, Callable[[Any, LocalAws], object]] = {
    # No wait: the queue's own long poll (20 s) would hold an empty receive that long.
    "ReceiveMessage from the generation queue": lambda sqs, aws: sqs.receive_message(
        QueueUrl=aws.generation_queue_url, WaitTimeSeconds=0
    ),
    "GetQueueAttributes of the generation queue": lambda sqs, aws: sqs.get_queue_attributes(
        QueueUrl=aws.generation_queue_url, AttributeNames=["All"]
    ),
}
CONSUMER_REFUSED: dict[str, Callable[[Any, LocalAws], object]] = {
    "SendMessage to the generation queue": send_to("GenerationQueue"),
    "SendMessage to the dead-letter queue": send_to("GenerationDeadLetterQueue"),
    "ReceiveMessage from the dead-letter queue": lambda sqs, aws: sqs.receive_message(
        QueueUrl=aws.queue_urls["GenerationDeadLetterQueue"]
    ),
    "PurgeQueue": lambda sqs, aws: sqs.purge_queue(QueueUrl=aws.generation_queue_url),
}


@pytest.mark.parametrize(
    ("call", "allowed"),
    [
        pytest.param(call, allowed, id=name)
        for allowed, calls in ((True, CONSUMER_ALLOWED), (False, CONSUMER_REFUSED))
        for name, call in calls.items()
    ],
)
def test_the_worker_may_consume_the_generation_queue_and_nothing_else(
    aws: LocalAws, call: Callable[[Any, LocalAws], object], allowed: bool
) -> None:
    sqs = aws.client("sqs", aws.function_credentials["GenerationWorkerFunction"])

    if allowed:
        call(sqs, aws)
    else:
        refused(lambda: call(sqs, aws))


@pytest.mark.parametrize(
    ("function", "call", "allowed"),
    [
        pytest.param(function, call, allowed, id=f"{function}: {name}")
        for function, allowed_calls, refused_calls in MATRIX
        for allowed, calls in ((True, allowed_calls), (False, refused_calls))
        for name, call in calls.items()
    ],
)
def test_a_function_may_make_the_calls_its_template_policy_allows_and_no_other(
    aws: LocalAws, function: str, call: Callable[[Any, Any, LocalAws], object], allowed: bool
) -> None:
    credentials = aws.function_credentials[function]
    dynamodb, s3 = aws.client("dynamodb", credentials), aws.client("s3", credentials)

    if allowed:
        call(dynamodb, s3, aws)
    else:
        assert "AccessDenied" in refused(lambda: call(dynamodb, s3, aws))


@pytest.mark.parametrize(
    ("function", "call", "allowed"),
    [
        pytest.param(function, call, allowed, id=f"{function}: {name}")
        for function in QUEUE_SENDERS
        for allowed, calls in ((True, QUEUE_ALLOWED), (False, QUEUE_REFUSED))
        for name, call in calls.items()
    ],
)
def test_only_create_and_the_sweeper_may_send_and_only_to_the_generation_queue(
    aws: LocalAws, function: str, call: Callable[[Any, LocalAws], object], allowed: bool
) -> None:
    sqs = aws.client("sqs", aws.function_credentials[function])

    if allowed:
        call(sqs, aws)
    else:
        refused(lambda: call(sqs, aws))


@pytest.mark.parametrize(
    "function", ["GetGenerationFunction", "GetTrackFunction", "CancelGenerationFunction", "AuthorizerFunction"]
)
def test_the_other_functions_may_not_send(aws: LocalAws, function: str) -> None:
    sqs = aws.client("sqs", aws.function_credentials[function])

    refused(lambda: send_to("GenerationQueue")(sqs, aws))


@pytest.mark.parametrize(
    "function",
    [
        "GetGenerationFunction",
        "GetTrackFunction",
        "AuthorizerFunction",
        "CreateGenerationFunction",
        "DispatchSweeperFunction",
        "WebhookTriggerFunction",
        "WebhookDeliveryFunction",
        "GenerationWorkerFunction",
    ],
)
def test_each_role_holds_the_policy_template_yaml_gives_its_function(aws: LocalAws, function: str) -> None:
    iam = aws.client("iam")
    role = f"{function}Role"

    stored = [
        iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    ]

    expected = [execution_role_policy(policy) for policy in local_template().function_policies(function, aws.arns)]
    assert [json.loads(document) if isinstance(document, str) else document for document in stored] == expected


def test_the_functions_behind_the_gateway_sign_as_their_roles(aws: LocalAws) -> None:
    """Take GetItem away from the GET function's role: the request that worked is now refused by IAM (500),
    while the authorizer, on a role of its own, still lets it through."""
    gateway = LocalGateway(local_template(), local_functions(local_template(), aws), UsagePlanMeter(aws.apigateway))
    request = HttpRequest("GET", SEED_PATH, "", [("X-API-Key", ALICE_KEY)])
    assert gateway.handle(request).status == 200
    iam = aws.client("iam")
    for name in iam.list_role_policies(RoleName="GetGenerationFunctionRole")["PolicyNames"]:
        iam.delete_role_policy(RoleName="GetGenerationFunctionRole", PolicyName=name)

    response = gateway.handle(request)

    assert response.status == 500
    assert gateway.authorizer_calls == 1  # the cached policy: the authorizer's part still stands


def test_the_authorizer_behind_the_gateway_signs_as_its_role(aws: LocalAws) -> None:
    iam = aws.client("iam")
    for name in iam.list_role_policies(RoleName="AuthorizerFunctionRole")["PolicyNames"]:
        iam.delete_role_policy(RoleName="AuthorizerFunctionRole", PolicyName=name)
    gateway = LocalGateway(local_template(), local_functions(local_template(), aws), UsagePlanMeter(aws.apigateway))

    response = gateway.handle(HttpRequest("GET", SEED_PATH, "", [("X-API-Key", ALICE_KEY)]))

    assert response.status == 503  # the authorizer cannot read the key: a failure, never a 401 or an allow


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param(lambda aws: Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG"), id="unknown key"),
        pytest.param(lambda aws: Credentials(aws.administrator.access_key_id, "not-the-secret"), id="wrong secret"),
        pytest.param(
            lambda aws: Credentials(
                aws.function_credentials["AuthorizerFunction"].access_key_id,
                aws.function_credentials["AuthorizerFunction"].secret_access_key,
            ),
            id="role key without its session token",
        ),
    ],
)
def test_a_request_not_signed_by_a_principal_the_emulator_issued_is_refused(
    aws: LocalAws, credentials: Callable[[LocalAws], Credentials]
) -> None:
    dynamodb = aws.client("dynamodb", credentials(aws))

    refused(lambda: dynamodb.get_item(TableName=aws.auth_table, Key=ALICE_KEY_ITEM))


def test_usage_plans_are_read_and_changed_by_the_administrator_alone(aws: LocalAws) -> None:
    """API Gateway's reads and deletes carry no body, and moto checked their signature against another payload
    (every one refused, the administrator's too) until the emulator checks them as signed. The local gateway's
    metering and the operator CLI read and change plans as the administrator; no function's role may."""
    plan_id = aws.usage_plan_ids[aws.default_usage_plan]
    members = aws.apigateway.get_usage_plan_keys(usagePlanId=plan_id)["items"]
    assert members, "the demo keys on the default plan"

    aws.apigateway.delete_usage_plan_key(usagePlanId=plan_id, keyId=members[0]["id"])

    assert len(aws.apigateway.get_usage_plan_keys(usagePlanId=plan_id)["items"]) == len(members) - 1
    for function, credentials in aws.function_credentials.items():
        assert "AccessDenied" in refused(aws.client("apigateway", credentials).get_usage_plans), function
    forged = Credentials(aws.administrator.access_key_id, "not-the-secret")
    assert "SignatureDoesNotMatch" in refused(aws.client("apigateway", forged).get_usage_plans)


class TestWhatMotoDoesNotCheck:
    """Pinned so that docs/security.md stays true; AWS refuses each of these."""

    def test_the_table_a_dynamodb_request_names(self, aws: LocalAws) -> None:
        """The GET function's policy names the jobs table only; moto lets it read the auth table."""
        dynamodb = aws.client("dynamodb", aws.function_credentials["GetGenerationFunction"])

        assert "Item" in dynamodb.get_item(TableName=aws.auth_table, Key=ALICE_KEY_ITEM)

    def test_conditions_such_as_dynamodb_leading_keys(self, aws: LocalAws) -> None:
        """The authorizer may read only items whose key starts with APIKEY#; moto lets it read a user item."""
        dynamodb = aws.client("dynamodb", aws.function_credentials["AuthorizerFunction"])
        user_item = {"pk": {"S": f"USER#{ALICE}"}, "sk": {"S": "USER"}}

        assert "Item" in dynamodb.get_item(TableName=aws.auth_table, Key=user_item)

    @pytest.mark.runs_as("GetGenerationFunction")
    def test_a_presigned_urls_signature(self, aws: LocalAws, lambda_context: LambdaContext) -> None:
        """moto's IAM check cannot read a presigned request (the emulator lets it past), and nothing checks its
        signature: a forged one downloads. The SigV4 parameters are checked by the tests themselves."""
        response = get_generation_handler(load_event("get_generation_succeeded.json"), lambda_context)
        url = json.loads(response["body"])["playback_url"]
        forged = re.sub(r"X-Amz-Signature=[0-9a-f]+", "X-Amz-Signature=" + "0" * 64, url)

        with urllib.request.urlopen(forged, timeout=5) as download:  # noqa: S310 - the moto server on loopback
            assert download.status == 200

    def test_a_signed_s3_request_is_still_checked(self, aws: LocalAws) -> None:
        s3 = aws.client("s3", aws.function_credentials["AuthorizerFunction"])

        assert "AccessDenied" in refused(lambda: s3.get_object(Bucket=aws.bucket, Key=SEED_AUDIO))


# The webhook functions: the trigger reads the jobs stream and sends to the webhook queue; delivery consumes that
# queue, dead-letters, reads webhook items of the auth table and records gone endpoints. moto checks SQS calls by
# the queue's ARN (DynamoDB's only by action: the LeadingKeys conditions are checked in test_template.py).
def webhook_calls(aws: LocalAws) -> dict[str, dict[str, Callable[[], object]]]:
    trigger = aws.function_credentials["WebhookTriggerFunction"]
    delivery = aws.function_credentials["WebhookDeliveryFunction"]
    trigger_sqs, delivery_sqs = aws.client("sqs", trigger), aws.client("sqs", delivery)
    streams, delivery_db = aws.client("dynamodbstreams", trigger), aws.client("dynamodb", delivery)
    queue, dead = aws.queue_urls["WebhookQueue"], aws.queue_urls["WebhookDeadLetterQueue"]
    gone_item = {"pk": {"S": f"WEBHOOK_GONE#{ORG}"}, "sk": {"S": "URL#x"}}
    return {
        "allowed": {
            "trigger: DescribeStream": lambda: streams.describe_stream(StreamArn=aws.jobs_stream_arn),
            "trigger: SendMessage to the webhook queue": lambda: trigger_sqs.send_message(
                QueueUrl=queue, MessageBody="{}"
            ),
            "delivery: ReceiveMessage": lambda: delivery_sqs.receive_message(QueueUrl=queue),
            "delivery: SendMessage to the webhook dead-letter queue": lambda: delivery_sqs.send_message(
                QueueUrl=dead, MessageBody="{}"
            ),
            "delivery: PutItem (a gone endpoint)": lambda: delivery_db.put_item(
                TableName=aws.auth_table, Item=gone_item
            ),
        },
        "refused": {
            "trigger: SendMessage to the generation queue": lambda: trigger_sqs.send_message(
                QueueUrl=aws.generation_queue_url, MessageBody="{}"
            ),
            "trigger: ReceiveMessage": lambda: trigger_sqs.receive_message(QueueUrl=queue),
            "delivery: SendMessage to the webhook queue": lambda: delivery_sqs.send_message(
                QueueUrl=queue, MessageBody="{}"
            ),
            "delivery: SendMessage to the generation queue": lambda: delivery_sqs.send_message(
                QueueUrl=aws.generation_queue_url, MessageBody="{}"
            ),
            "delivery: Query": lambda: delivery_db.query(
                TableName=aws.auth_table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"WEBHOOK#{ORG}"}},
            ),
            "delivery: UpdateItem": lambda: delivery_db.update_item(
                TableName=aws.auth_table,
                Key=gone_item,
                UpdateExpression="SET x = :x",
                ExpressionAttributeValues={":x": {"S": "y"}},
            ),
            "delivery: Scan": lambda: delivery_db.scan(TableName=aws.auth_table),
        },
    }


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        (name, True)
        for name in (
            "trigger: DescribeStream",
            "trigger: SendMessage to the webhook queue",
            "delivery: ReceiveMessage",
            "delivery: SendMessage to the webhook dead-letter queue",
            "delivery: PutItem (a gone endpoint)",
        )
    ]
    + [
        (name, False)
        for name in (
            "trigger: SendMessage to the generation queue",
            "trigger: ReceiveMessage",
            "delivery: SendMessage to the webhook queue",
            "delivery: SendMessage to the generation queue",
            "delivery: Query",
            "delivery: UpdateItem",
            "delivery: Scan",
        )
    ],
)
def test_the_webhook_functions_may_make_only_the_calls_their_policies_allow(
    aws: LocalAws, name: str, allowed: bool
) -> None:
    calls = webhook_calls(aws)
    if allowed:
        calls["allowed"][name]()
    else:
        refused(calls["refused"][name])
