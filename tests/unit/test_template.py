"""template.yaml keeps the promises the code relies on: route, runtime, least privilege, bounded time."""

import copy
import inspect
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from music_api.core.envelope import ErrorBody
from music_api.core.errors import GATEWAY_RESPONSES
from music_api.engines.policy import POLICY_PARTITION
from music_api.engines.store import CATALOGUE_PARTITION
from music_api.jobs.create import CreationSettings
from music_api.jobs.settings import GenerationSettings
from music_api.jobs.store import (
    DISPATCH_KEY,
    JOBS_AWAITING_DISPATCH_INDEX,
    JOBS_RUNNING_INDEX,
    RUNNING_KEY,
    owner_key,
    status_key,
    track_partition,
)
from music_api.worker.settings import WorkerSettings
from music_local.gateway import RESPONSE_TYPE_STATUS
from music_local.invoke import function_for
from music_local.scheduler import scheduled_event
from music_local.streams import matches, stream_sources
from music_local.template import Schedule, Template, UnsupportedTemplateError, default_template, local_template
from tests.helpers.events import load_event
from tests.helpers.monitoring import alarms, monitoring, passed


def resource(logical_id: str) -> dict[str, Any]:
    return default_template().resource(logical_id)


def template() -> Any:
    return default_template().document


ROUTE = "/v1/music/{organization_id}/generations/{job_id}"
WORKER_ENVIRONMENT = {
    "JOBS_TABLE_NAME": "jobs",
    "AUDIO_BUCKET_NAME": "audio",
    "AUDIO_KEY_PREFIX": "audio/",
    "GENERATION_QUEUE_URL": "https://sqs",
    "MAX_RECEIVE_COUNT": "5",
}
API_GATEWAY_INTEGRATION_LIMIT_SECONDS = 29


def function() -> dict[str, Any]:
    properties: dict[str, Any] = resource("GetGenerationFunction")["Properties"]
    return properties


def test_the_route_is_the_full_public_path_on_the_rest_api() -> None:
    (event,) = function()["Events"].values()

    assert event["Type"] == "Api"
    assert event["Properties"] == {"RestApiId": {"Ref": "MusicApi"}, "Path": ROUTE, "Method": "GET"}
    assert resource("MusicApi")["Type"] == "AWS::Serverless::Api"
    assert resource("MusicApi")["Properties"]["StageName"] == {"Ref": "StageName"}


def test_functions_run_python313_on_arm64_with_the_shared_layer() -> None:
    globals_ = template()["Globals"]["Function"]

    assert globals_["Runtime"] == "python3.13"
    assert globals_["Architectures"] == ["arm64"]
    assert globals_["Layers"] == [{"Ref": "SharedLayer"}]
    layer = resource("SharedLayer")
    # Built by layers/shared/Makefile: SAM's python3.13 method would leave the layer's bytecode out.
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_the_function_may_only_get_items_and_read_master_audio() -> None:
    (policy,) = function()["Policies"]
    statements = {statement["Sid"]: statement for statement in policy["Statement"]}

    assert set(statements) == {"ReadJobsByKeyOnly", "ReadMasterAudioOnly"}
    assert statements["ReadJobsByKeyOnly"]["Action"] == "dynamodb:GetItem"
    assert statements["ReadJobsByKeyOnly"]["Resource"] == {"Fn::GetAtt": "JobsTable.Arn"}
    assert statements["ReadMasterAudioOnly"]["Action"] == "s3:GetObject"
    assert statements["ReadMasterAudioOnly"]["Resource"] == {"Fn::Sub": "${AudioBucket.Arn}/audio/*"}
    assert all(statement["Effect"] == "Allow" for statement in statements.values())


def test_the_engine_listing_may_only_query_the_catalogue_partition() -> None:
    properties = resource("ListEnginesFunction")["Properties"]
    (policy,) = properties["Policies"]
    (statement,) = policy["Statement"]
    (event,) = properties["Events"].values()

    assert statement == {
        "Sid": "QueryEngineCatalogueOnly",
        "Effect": "Allow",
        "Action": "dynamodb:Query",
        "Resource": {"Fn::GetAtt": "JobsTable.Arn"},
        "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [CATALOGUE_PARTITION]}},
    }
    assert event["Properties"] == {
        "RestApiId": {"Ref": "MusicApi"},
        "Path": "/v1/music/{organization_id}/engines",
        "Method": "GET",
    }
    assert set(properties["Environment"]["Variables"]) == {"JOBS_TABLE_NAME"}
    assert resource("ListEnginesLogGroup")["Properties"]["LogGroupName"] == {
        "Fn::Sub": "/aws/lambda/${ListEnginesFunction}"
    }


# One GetItem in track partitions only (ORG#<org>#USER#<user>#TRACKS): no job, catalogue or other item.
TRACK_PARTITIONS = "ORG#*#TRACKS"
TRACK_ITEMS_ONLY = {
    "Effect": "Allow",
    "Action": "dynamodb:GetItem",
    "Resource": {"Fn::GetAtt": "JobsTable.Arn"},
    "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [TRACK_PARTITIONS]}},
}


def test_the_track_function_may_only_get_track_items_and_read_audio() -> None:
    properties = resource("GetTrackFunction")["Properties"]
    (policy,) = properties["Policies"]
    statements = {statement.pop("Sid"): statement for statement in policy["Statement"]}
    (event,) = properties["Events"].values()

    assert statements == {
        "ReadTrackItemsOnly": TRACK_ITEMS_ONLY,
        "ReadAudioOnly": {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": {"Fn::Sub": "${AudioBucket.Arn}/audio/*"},
        },
    }
    assert event["Properties"] == {
        "RestApiId": {"Ref": "MusicApi"},
        "Path": "/v1/music/{organization_id}/tracks/{track_id}",
        "Method": "GET",
    }
    # The generations' settings, as GET's: the same table, bucket, prefix and URL lifetime.
    assert properties["Environment"]["Variables"] == function()["Environment"]["Variables"]
    assert resource("GetTrackLogGroup")["Properties"]["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${GetTrackFunction}"}
    assert passed("GetTrackFunctionName") == {"Ref": "GetTrackFunction"}
    for alarm in ("FunctionErrorAlarm", "FunctionThrottleAlarm"):
        watched = [
            query["MetricStat"]["Metric"] for query in alarms()[alarm]["Properties"]["Metrics"] if "MetricStat" in query
        ]
        assert {"Name": "FunctionName", "Value": {"Ref": "GetTrackFunctionName"}} in [
            dimension for metric in watched for dimension in metric["Dimensions"]
        ], alarm


def test_the_track_partition_pattern_matches_track_keys_and_no_job_key() -> None:
    pattern = re.compile(re.escape(TRACK_PARTITIONS).replace(r"\*", ".*"))  # IAM's StringLike: * is any text

    assert pattern.fullmatch(track_partition("org_abc123", "usr_alice01"))
    for key in (
        owner_key("org_abc123", "usr_alice01"),
        status_key("org_abc123", "usr_alice01", "succeeded"),
        CATALOGUE_PARTITION,
    ):
        assert not pattern.fullmatch(key), key


# What create and the dispatch sweeper share: writes to job items only (never the catalogue), one message at a time.
JOB_ITEMS_ONLY = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ORG#*"]}}
SEND_TO_THE_GENERATION_QUEUE = {
    "Effect": "Allow",
    "Action": "sqs:SendMessage",
    "Resource": {"Fn::GetAtt": "GenerationQueue.Arn"},
}


def test_create_may_only_query_the_catalogue_read_tracks_put_job_items_keep_idempotency_records_and_send() -> None:
    properties = resource("CreateGenerationFunction")["Properties"]
    (policy,) = properties["Policies"]
    statements = {statement.pop("Sid"): statement for statement in policy["Statement"]}
    (event,) = properties["Events"].values()

    assert statements == {
        "QueryEngineCatalogueOnly": {
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": {"Fn::GetAtt": "JobsTable.Arn"},
            "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [CATALOGUE_PARTITION]}},
        },
        "ReadTrackItemsOnly": TRACK_ITEMS_ONLY,
        "PutJobItemsOnly": {
            "Effect": "Allow",
            "Action": "dynamodb:PutItem",
            "Resource": {"Fn::GetAtt": "JobsTable.Arn"},
            "Condition": JOB_ITEMS_ONLY,
        },
        "SendToGenerationQueueOnly": SEND_TO_THE_GENERATION_QUEUE,
        # Exactly the calls Powertools' DynamoDB persistence layer makes.
        "IdempotencyRecordsOnly": {
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            "Resource": {"Fn::GetAtt": "IdempotencyTable.Arn"},
        },
    }
    assert event["Properties"]["Path"] == "/v1/music/{organization_id}/generations"
    assert event["Properties"]["Method"] == "POST"
    assert properties["Environment"]["Variables"] == {
        "JOBS_TABLE_NAME": {"Ref": "JobsTable"},
        "GENERATION_QUEUE_URL": {"Ref": "GenerationQueue"},
        "IDEMPOTENCY_TABLE_NAME": {"Ref": "IdempotencyTable"},
        "IDEMPOTENCY_KEY_TTL_SECONDS": {"Ref": "IdempotencyKeyTtlSeconds"},
        "API_KEY_ENVIRONMENT": {"Ref": "ApiKeyEnvironment"},  # which webhook URLs the stage takes
    }


def test_the_generation_queue_is_encrypted_and_redrives_to_a_dead_letter_queue_kept_14_days() -> None:
    queue = resource("GenerationQueue")["Properties"]
    dead_letters = resource("GenerationDeadLetterQueue")["Properties"]

    assert queue["SqsManagedSseEnabled"] is dead_letters["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": "GenerationDeadLetterQueue.Arn"},
        "maxReceiveCount": 5,
    }
    assert dead_letters["MessageRetentionPeriod"] == 14 * 86400
    assert "RedrivePolicy" not in dead_letters
    # A message outlives the longest wait the sweeper allows before it fails the job.
    maximum_wait = template()["Parameters"]["DispatchMaxWaitSeconds"]["MaxValue"]
    assert queue["MessageRetentionPeriod"] > maximum_wait
    assert queue["ReceiveMessageWaitTimeSeconds"] == 20  # workers long-poll


def test_the_dispatch_sweeper_runs_every_minute_one_at_a_time_with_least_privilege() -> None:
    properties = resource("DispatchSweeperFunction")["Properties"]
    (policy,) = properties["Policies"]
    statements = {statement.pop("Sid"): statement for statement in policy["Statement"]}
    (event,) = properties["Events"].values()

    assert event == {
        "Type": "Schedule",
        "Properties": {
            "Schedule": "rate(1 minute)",
            "Description": "The dispatch sweeper (docs/operations.md#generation-dispatch).",
        },
    }
    assert properties["ReservedConcurrentExecutions"] == 1
    assert statements == {
        "QueryJobsAwaitingDispatchOnly": {
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": {"Fn::Sub": f"${{JobsTable.Arn}}/index/{JOBS_AWAITING_DISPATCH_INDEX}"},
        },
        "QueryRunningJobsOnly": {
            "Effect": "Allow",
            "Action": "dynamodb:Query",
            "Resource": {"Fn::Sub": f"${{JobsTable.Arn}}/index/{JOBS_RUNNING_INDEX}"},
        },
        "UpdateJobItemsOnly": {
            "Effect": "Allow",
            "Action": "dynamodb:UpdateItem",
            "Resource": {"Fn::GetAtt": "JobsTable.Arn"},
            "Condition": JOB_ITEMS_ONLY,
        },
        "SendToGenerationQueueOnly": SEND_TO_THE_GENERATION_QUEUE,
    }
    assert set(properties["Environment"]["Variables"]) == {
        "JOBS_TABLE_NAME",
        "GENERATION_QUEUE_URL",
        "DISPATCH_GRACE_SECONDS",
        "DISPATCH_MAX_WAIT_SECONDS",
        "RUNNING_LEASE_SECONDS",
    }


def worker() -> dict[str, Any]:
    properties: dict[str, Any] = resource("GenerationWorkerFunction")["Properties"]
    return properties


def test_the_worker_consumes_the_generation_queue_one_job_at_a_time_with_partial_batch_responses() -> None:
    (event,) = worker()["Events"].values()

    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": "GenerationQueue.Arn"}
    assert event["Properties"]["BatchSize"] == 1
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "GenerationWorkerMaxConcurrency"}}


def test_the_queue_hides_a_message_six_worker_timeouts_and_the_lease_outlasts_the_timeout_by_a_sweep() -> None:
    timeout = worker()["Timeout"]
    lease = int(resource("DispatchSweeperFunction")["Properties"]["Environment"]["Variables"]["RUNNING_LEASE_SECONDS"])
    queue = resource("GenerationQueue")["Properties"]
    backoff = WorkerSettings.model_validate(WORKER_ENVIRONMENT)

    assert queue["VisibilityTimeout"] >= 6 * timeout  # AWS's advice for an SQS event source
    assert lease >= timeout + 60  # no invocation that wrote a heartbeat that old can be alive; plus one sweep
    # A job waiting for its retry is never taken for dead: the longest backoff stays below the lease.
    assert backoff.retry_backoff_seconds * (queue["RedrivePolicy"]["maxReceiveCount"] - 1) < lease
    assert int(worker()["Environment"]["Variables"]["MAX_RECEIVE_COUNT"]) == queue["RedrivePolicy"]["maxReceiveCount"]


def test_the_worker_may_only_touch_jobs_tracks_the_catalogue_its_audio_and_its_queue() -> None:
    (policy,) = worker()["Policies"]
    statements = {statement["Sid"]: statement for statement in policy["Statement"]}

    assert {sid: statement["Action"] for sid, statement in statements.items()} == {
        "ReadJobItemsOnly": "dynamodb:GetItem",
        "UpdateJobItemsOnly": "dynamodb:UpdateItem",
        "PutTrackItemsOnly": "dynamodb:PutItem",
        "QueryCatalogueOnly": "dynamodb:Query",
        "WriteAudioOnly": ["s3:PutObject", "s3:DeleteObject"],
        "ConsumeGenerationQueueOnly": [
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ChangeMessageVisibility",
        ],
    }
    assert statements["ReadJobItemsOnly"]["Condition"] == JOB_ITEMS_ONLY
    assert statements["UpdateJobItemsOnly"]["Condition"] == JOB_ITEMS_ONLY
    assert statements["PutTrackItemsOnly"]["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ORG#*#TRACKS"]}
    }
    assert statements["QueryCatalogueOnly"]["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [CATALOGUE_PARTITION, POLICY_PARTITION]}
    }
    assert statements["WriteAudioOnly"]["Resource"] == {"Fn::Sub": "${AudioBucket.Arn}/audio/*"}
    assert statements["ConsumeGenerationQueueOnly"]["Resource"] == {"Fn::GetAtt": "GenerationQueue.Arn"}
    assert set(worker()["Environment"]["Variables"]) <= set(WORKER_ENVIRONMENT) | {"AWS_READ_TIMEOUT_SECONDS"}


def test_the_running_jobs_index_is_sparse_and_longest_silent_first() -> None:
    table = resource("JobsTable")["Properties"]
    (index,) = [i for i in table["GlobalSecondaryIndexes"] if i["IndexName"] == JOBS_RUNNING_INDEX]

    assert index["KeySchema"] == [
        {"AttributeName": RUNNING_KEY, "KeyType": "HASH"},
        {"AttributeName": "heartbeat_at", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["id", "organization_id", "user_id"],
    }


def test_the_awaiting_dispatch_index_is_sparse_and_oldest_first() -> None:
    table = resource("JobsTable")["Properties"]
    (index,) = [i for i in table["GlobalSecondaryIndexes"] if i["IndexName"] == JOBS_AWAITING_DISPATCH_INDEX]

    assert index["KeySchema"] == [
        {"AttributeName": DISPATCH_KEY, "KeyType": "HASH"},
        {"AttributeName": "created_key", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["id", "organization_id", "user_id", "created_at", "dispatched_at", "dispatch_count"],
    }
    assert {"AttributeName": DISPATCH_KEY, "AttributeType": "S"} in table["AttributeDefinitions"]


@pytest.mark.parametrize("plan", ["Trial", "Standard", "Internal"])
def test_every_plan_gives_create_its_own_budget(plan: str) -> None:
    (stage,) = resource(f"{plan}UsagePlan")["Properties"]["ApiStages"]

    assert stage["Throttle"] == {
        "/v1/music/{organization_id}/generations/POST": {
            "RateLimit": {"Ref": f"{plan}CreateRateLimit"},
            "BurstLimit": {"Ref": f"{plan}CreateBurstLimit"},
        }
    }


def test_the_audio_prefix_setting_matches_the_policy() -> None:
    assert function()["Environment"]["Variables"]["AUDIO_KEY_PREFIX"] == "audio/"


def test_the_timeout_covers_the_worst_case_aws_budget_and_fits_api_gateway() -> None:
    settings = GenerationSettings.model_validate({"JOBS_TABLE_NAME": "jobs", "AUDIO_BUCKET_NAME": "audio"})
    attempts = settings.aws_max_attempts
    per_attempt = settings.aws_connect_timeout_seconds + settings.aws_read_timeout_seconds
    # botocore's standard mode sleeps at most 2**n seconds (jittered) before retry n+1.
    backoff = sum(2**n for n in range(attempts - 1))

    timeout = template()["Globals"]["Function"]["Timeout"]

    assert attempts * per_attempt + backoff < timeout < API_GATEWAY_INTEGRATION_LIMIT_SECONDS


def test_the_jobs_table_is_keyed_by_organization_and_user_then_job() -> None:
    table = resource("JobsTable")["Properties"]

    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}


def test_the_idempotency_table_is_keyed_and_expired_as_powertools_writes_it() -> None:
    """The key and the TTL attribute are the persistence layer's own names; the TTL default is the settings'."""
    table = resource("IdempotencyTable")
    properties = table["Properties"]
    layer = inspect.signature(DynamoDBPersistenceLayer).parameters  # jobs/idempotency.py keeps the defaults

    assert properties["KeySchema"] == [{"AttributeName": layer["key_attr"].default, "KeyType": "HASH"}]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": layer["expiry_attr"].default, "Enabled": True}
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == (
        resource("JobsTable")["DeletionPolicy"],
        resource("JobsTable")["UpdateReplacePolicy"],
    )
    default = CreationSettings.model_fields["idempotency_key_ttl_seconds"].default
    assert parameter_default("IdempotencyKeyTtlSeconds") == default == 24 * 3600


def test_only_create_knows_the_idempotency_table() -> None:
    knowing = [
        name
        for name in default_template().resources_of_type("AWS::Serverless::Function")
        if "IdempotencyTable" in json.dumps(resource(name)["Properties"])
    ]

    assert knowing == ["CreateGenerationFunction"]


def test_the_audio_bucket_is_private_encrypted_and_tls_only() -> None:
    bucket = resource("AudioBucket")["Properties"]
    statements = resource("AudioBucketPolicy")["Properties"]["PolicyDocument"]["Statement"]

    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    deny_insecure = next(s for s in statements if s["Sid"] == "DenyInsecureTransport")
    assert deny_insecure["Effect"] == "Deny"
    assert deny_insecure["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_every_function_has_a_log_group_with_retention() -> None:
    resources = template()["Resources"]
    functions = [name for name, body in resources.items() if body["Type"] == "AWS::Serverless::Function"]
    log_groups = [body for body in resources.values() if body["Type"] == "AWS::Logs::LogGroup"]

    for name in functions:
        (group,) = [g for g in log_groups if g["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{{name}}}"}]
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


def test_the_event_is_never_logged() -> None:
    assert template()["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"


def api() -> dict[str, Any]:
    properties: dict[str, Any] = resource("MusicApi")["Properties"]
    return properties


def test_every_route_is_behind_the_api_key_authorizer() -> None:
    auth = api()["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]

    assert authorizer["FunctionPayloadType"] == "REQUEST"
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": "AuthorizerFunction.Arn"}
    assert authorizer["Identity"] == {"Headers": ["X-API-Key"], "ReauthorizeEvery": {"Ref": "AuthorizerTtlSeconds"}}
    assert template()["Parameters"]["AuthorizerTtlSeconds"]["Default"] == 300


def test_each_stage_accepts_keys_of_one_environment_live_unless_told() -> None:
    parameter = template()["Parameters"]["ApiKeyEnvironment"]

    assert parameter["AllowedValues"] == ["live", "test"]
    assert parameter["Default"] == "live"


def test_the_local_stack_is_a_test_stage() -> None:
    environment = local_template().function_environment("AuthorizerFunction", {"AuthTable": "music-auth"})

    assert environment["API_KEY_ENVIRONMENT"] == "test"
    assert (
        default_template().function_environment("AuthorizerFunction", {"AuthTable": "t"})["API_KEY_ENVIRONMENT"]
        == "live"
    )


def test_a_parameter_override_must_be_one_of_its_allowed_values() -> None:
    with pytest.raises(UnsupportedTemplateError, match="ApiKeyEnvironment"):
        default_template().with_parameters({"ApiKeyEnvironment": "staging"})


def test_the_authorizer_may_only_get_api_key_items() -> None:
    (policy,) = resource("AuthorizerFunction")["Properties"]["Policies"]
    (statement,) = policy["Statement"]

    assert statement["Action"] == "dynamodb:GetItem"
    assert statement["Resource"] == {"Fn::GetAtt": "AuthTable.Arn"}
    assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["APIKEY#*"]}}


def test_every_gateway_made_error_is_the_catalogues_in_the_contracts_envelope() -> None:
    """The texts live once, in music_api.core.errors; the template's copies must be exactly those."""
    responses = api()["GatewayResponses"]

    assert set(responses) == set(GATEWAY_RESPONSES)
    for response_type, expected in GATEWAY_RESPONSES.items():
        error = expected.error
        response = responses[response_type]
        body = json.loads(response["ResponseTemplates"]["application/json"])
        assert int(response["StatusCode"]) == error.status, response_type
        assert body == {
            "success": False,
            "error": {
                "code": error.code,
                "message": error.message,
                "system_message": error.default_system_message,
                "type": error.type,
                "status": error.status,
                "details": {},
                "trace_id": "req_$context.requestId",
                "timestamp": "$context.requestTime",
            },
        }, response_type
        assert list(body["error"]) == list(ErrorBody.model_fields), "the envelope's key order"
        headers = response["ResponseParameters"]["Headers"]
        assert headers["Cache-Control"] == "'no-store'"
        assert headers["X-Content-Type-Options"] == "'nosniff'"
        assert headers["X-Request-Id"] == "context.requestId"
        retry_after = None if expected.retry_after_seconds is None else f"'{expected.retry_after_seconds}'"
        assert headers.get("Retry-After") == retry_after, response_type


def test_no_response_type_falls_back_to_a_default_that_changes_its_status() -> None:
    """A default's StatusCode replaces the status of every type that falls back to it (API Gateway's rule)."""
    responses = api()["GatewayResponses"]

    for response_type, own_status in RESPONSE_TYPE_STATUS.items():
        if response_type not in responses:
            default = responses["DEFAULT_5XX" if own_status >= 500 else "DEFAULT_4XX"]
            assert int(default.get("StatusCode", own_status)) == own_status, response_type


def test_the_gateways_401_has_the_contracts_texts_exactly() -> None:
    body = json.loads(api()["GatewayResponses"]["UNAUTHORIZED"]["ResponseTemplates"]["application/json"])

    assert body["error"]["message"] == "Authentication required. Please provide a valid API key."
    assert body["error"]["system_message"] == "Missing or invalid authorization header"
    assert body["error"]["type"] == "authentication_error"


def test_gateway_templates_carry_no_client_controlled_values() -> None:
    """Plain substitution does no JSON escaping: a path or header value could break or forge the body."""
    for response in api()["GatewayResponses"].values():
        variables = re.findall(r"\$[\w.]+", response["ResponseTemplates"]["application/json"])
        assert set(variables) <= {"$context.requestId", "$context.requestTime"}


def test_each_function_is_given_only_the_resources_it_uses() -> None:
    shared = template()["Globals"]["Function"]["Environment"]["Variables"]
    authorizer = resource("AuthorizerFunction")["Properties"]["Environment"]["Variables"]
    get_generation = resource("GetGenerationFunction")["Properties"]["Environment"]["Variables"]

    assert not {"JOBS_TABLE_NAME", "AUTH_TABLE_NAME", "AUDIO_BUCKET_NAME"} & set(shared)
    assert authorizer == {"AUTH_TABLE_NAME": {"Ref": "AuthTable"}, "API_KEY_ENVIRONMENT": {"Ref": "ApiKeyEnvironment"}}
    assert {"JOBS_TABLE_NAME", "AUDIO_BUCKET_NAME"} <= set(get_generation)
    assert "AUTH_TABLE_NAME" not in get_generation


def usage_plan_resources() -> dict[str, dict[str, Any]]:
    return {
        name: resource(name)["Properties"]
        for name in default_template().resources_of_type("AWS::ApiGateway::UsagePlan")
    }


def parameter_default(name: str) -> Any:
    return template()["Parameters"][name]["Default"]


def test_every_method_needs_an_api_key_and_the_authorizer_names_it() -> None:
    """Key source HEADER would read the customer's own X-API-Key header as a gateway key: it must be AUTHORIZER."""
    assert api()["ApiKeySourceType"] == "AUTHORIZER"
    assert api()["Auth"]["ApiKeyRequired"] is True


def test_the_plans_meter_the_apis_stage_and_the_outputs_name_every_plan() -> None:
    plans = usage_plan_resources()
    names = {properties["UsagePlanName"]: logical_id for logical_id, properties in plans.items()}

    assert len(plans) >= 2
    for properties in plans.values():
        (stage,) = properties["ApiStages"]
        assert (stage["ApiId"], stage["Stage"]) == ({"Ref": "MusicApi"}, {"Ref": "MusicApi.Stage"})
        assert set(properties["Throttle"]) == {"RateLimit", "BurstLimit"}  # every route, every plan
    outputs = template()["Outputs"]
    assert outputs["UsagePlanIds"]["Value"] == {"Fn::Sub": ",".join(f"{n}=${{{i}}}" for n, i in names.items())}
    assert outputs["DefaultUsagePlan"]["Value"] == {"Ref": "DefaultUsagePlan"}
    assert set(template()["Parameters"]["DefaultUsagePlan"]["AllowedValues"]) == set(names)


def test_limits_are_parameters_and_the_stage_throttle_stays_the_global_guard() -> None:
    stage_rate, stage_burst = parameter_default("ThrottlingRateLimit"), parameter_default("ThrottlingBurstLimit")
    (method_settings,) = api()["MethodSettings"]

    assert method_settings["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}
    for properties in usage_plan_resources().values():
        limits = [properties["Throttle"]["RateLimit"], properties["Throttle"]["BurstLimit"]]
        limits += list(properties.get("Quota", {}).values())
        assert all(set(limit) == {"Ref"} for limit in limits), properties["UsagePlanName"]
    for plan in default_template().usage_plans():
        assert plan.throttle is not None
        if plan.quota is not None:  # a customer plan: one key can never take the whole stage
            assert plan.throttle.rate < stage_rate
            assert plan.throttle.burst < stage_burst


def test_creates_get_a_smaller_budget_than_reads_in_every_plan() -> None:
    """The create route's per-method budget (its plan's Throttle line) must sit below the plan's reads."""
    for plan in default_template().usage_plans():
        prefix = plan.name.capitalize()
        assert plan.throttle is not None
        assert parameter_default(f"{prefix}CreateRateLimit") < plan.throttle.rate, plan.name
        assert parameter_default(f"{prefix}CreateBurstLimit") < plan.throttle.burst, plan.name


NOTIFY = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}


def test_every_alarm_has_a_threshold_parameter_and_notifies_the_optional_topic() -> None:
    parameters = template()["Parameters"]  # operators tune them here (sam deploy --parameter-overrides)
    unconditional = [name for name, alarm in alarms().items() if "Condition" not in alarm]

    assert len(unconditional) >= 6
    thresholds = []
    for name, alarm in alarms().items():
        properties = alarm["Properties"]
        assert set(properties["Threshold"]) == {"Ref"}, name
        thresholds.append(properties["Threshold"]["Ref"])
        assert properties["AlarmActions"] == properties["OKActions"] == NOTIFY, name
        assert properties["TreatMissingData"] == "notBreaching", name  # no traffic is not an incident
    assert len(set(thresholds)) == len(thresholds), "one threshold per alarm"
    for name in [*thresholds, "AlarmTopicArn"]:
        assert passed(name) == {"Ref": name}, name  # the stack's parameter of the same name
        assert "Default" in parameters[name], name
        assert "Default" not in monitoring().document["Parameters"][name], f"{name}: one default, template.yaml's"
    conditions = monitoring().document["Conditions"]
    assert conditions["HasAlarmTopic"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}


def test_the_monitoring_watches_this_stacks_resources_by_name() -> None:
    watched = {
        "ApiName": {"Fn::Sub": "${AWS::StackName}-music-api"},
        "StageName": {"Ref": "StageName"},
        "AccessLogGroupName": {"Fn::If": ["AccessLoggingEnabled", {"Ref": "ApiAccessLogGroup"}, ""]},
        "DashboardName": {"Fn::Sub": "${AWS::StackName}-operations"},
    }
    watched |= {
        f"{name}Name": {"Ref": name}
        for name in [
            "GetGenerationFunction",
            "GetTrackFunction",
            "AuthorizerFunction",
            "DispatchSweeperFunction",
            "GenerationWorkerFunction",
            "JobsTable",
            "AuthTable",
        ]
    }
    watched |= {
        f"{queue}Name": {"Fn::GetAtt": f"{queue}.QueueName"}
        for queue in default_template().resources_of_type("AWS::SQS::Queue")
        if queue != "WebhookQueue"  # its failures end in WebhookDeadLetterQueue, which is watched
    }

    assert {name: passed(name) for name in watched} == watched
    assert resource("MusicApi")["Properties"]["Name"] == watched["ApiName"]
    assert resource("Monitoring")["Properties"]["Location"] == "monitoring.yaml"
    outputs = json.dumps(template()["Outputs"]["OperationsDashboardUrl"])
    assert "${Monitoring.Outputs.DashboardName}" in outputs


def test_the_alarms_watch_errors_latency_throttles_rate_limits_and_the_queues() -> None:
    watched = {
        (metric["Namespace"], metric["MetricName"])
        for alarm in alarms().values()
        for metric in [alarm["Properties"]]
        + [m["MetricStat"]["Metric"] for m in alarm["Properties"].get("Metrics", []) if "MetricStat" in m]
        if "MetricName" in metric
    }

    assert {
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/ApiGateway", "Latency"),
        ("MusicApi", "AuthorizerDecision"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/DynamoDB", "ThrottledRequests"),
        ("MusicApi", "RateLimited"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    } <= watched
    assert alarms()["LatencyP99Alarm"]["Properties"]["ExtendedStatistic"] == "p99"
    # The queue alarms watch this stack's own queues.
    for alarm, queue in (
        ("GenerationQueueAgeAlarm", "GenerationQueue"),
        ("GenerationDeadLetterAlarm", "GenerationDeadLetterQueue"),
    ):
        assert alarms()[alarm]["Properties"]["Dimensions"] == [{"Name": "QueueName", "Value": {"Ref": f"{queue}Name"}}]
        assert passed(f"{queue}Name") == {"Fn::GetAtt": f"{queue}.QueueName"}
    assert "Condition" not in alarms()["GenerationQueueAgeAlarm"]


@pytest.mark.parametrize("alarm", ["GenerationDispatchFailureAlarm", "UnscheduledJobsAlarm"])
def test_the_dispatch_alarms_count_the_functions_metrics_by_service_alone(alarm: str) -> None:
    variables = template()["Globals"]["Function"]["Environment"]["Variables"]
    properties = alarms()[alarm]["Properties"]

    assert properties["Namespace"] == variables["POWERTOOLS_METRICS_NAMESPACE"]
    assert properties["Dimensions"] == [{"Name": "service", "Value": variables["POWERTOOLS_SERVICE_NAME"]}]
    assert properties["MetricName"] in {"GenerationDispatchFailed", "GenerationJobUnscheduled"}


def test_the_authorizer_alarm_counts_failures_in_the_functions_own_namespace_and_service() -> None:
    variables = template()["Globals"]["Function"]["Environment"]["Variables"]
    properties = alarms()["AuthorizerErrorAlarm"]["Properties"]

    assert properties["Namespace"] == variables["POWERTOOLS_METRICS_NAMESPACE"]
    assert {d["Name"]: d["Value"] for d in properties["Dimensions"]} == {
        "decision": "error",  # a rejected key is "unauthorized": only failures (the 503 path) count
        "service": variables["POWERTOOLS_SERVICE_NAME"],
    }


def rendered_sub(text: str) -> str:
    """A ``Fn::Sub`` string with thresholds at their defaults, and resources and their names as placeholders."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        default = monitoring().parameter_value(name) if name in monitoring().document["Parameters"] else None
        return f"x-{name}" if default is None else str(default)

    return re.sub(r"\$\{([\w:.]+)\}", value, text)


def dashboard_body(conditions: dict[str, bool]) -> dict[str, Any]:
    separator, parts = monitoring().resource("OperationsDashboard")["Properties"]["DashboardBody"]["Fn::Join"]
    rendered = []
    for part in parts:
        chosen = part
        if isinstance(part, dict) and "Fn::If" in part:
            condition, when_true, when_false = part["Fn::If"]
            chosen = when_true if conditions[condition] else when_false
        rendered.append(rendered_sub(chosen["Fn::Sub"]) if isinstance(chosen, dict) else chosen)
    body: dict[str, Any] = json.loads(separator.join(rendered))
    return body


def test_the_dashboard_is_valid_json_with_the_alarms_signals_and_polls_by_status() -> None:
    body = dashboard_body({})
    text = json.dumps(body)

    assert len(body["widgets"]) == 16
    (alarm_widget,) = [widget for widget in body["widgets"] if widget["type"] == "alarm"]
    unconditional = [name for name, alarm in alarms().items() if "Condition" not in alarm]
    assert alarm_widget["properties"]["alarms"] == [f"x-{name}.Arn" for name in unconditional]
    for signal in ["5XXError", "Latency", "RateLimited", "Throttles", "ThrottledRequests", "AuthorizerDecision"]:
        assert signal in text, signal
    polls = next(widget for widget in body["widgets"] if widget["properties"].get("title") == "Polls by job status")
    (((search,),),) = [polls["properties"]["metrics"]]
    assert (
        search["expression"] == "SEARCH('{MusicApi,service,status} MetricName=\"GenerationJobReturned\"', 'Sum', 300)"
    )
    for signal in ["ApproximateAgeOfOldestMessage", "GenerationDispatchFailed", "GenerationJobUnscheduled"]:
        assert signal in text, signal
    assert "x-GenerationQueueName" in text
    assert "x-GenerationDeadLetterQueueName" in text


def access_log_format() -> str:
    setting = api()["AccessLogSetting"]["Fn::If"]
    assert setting[0] == "AccessLoggingEnabled"
    assert setting[2] == {"Ref": "AWS::NoValue"}
    assert setting[1]["DestinationArn"] == {"Fn::GetAtt": "ApiAccessLogGroup.Arn"}
    return str(setting[1]["Format"])


def test_access_logs_are_json_lines_naming_the_caller_by_ids_never_by_a_key() -> None:
    fields = json.loads(access_log_format())

    assert {
        "requestId": "$context.requestId",
        "route": "$context.resourcePath",
        "status": "$context.status",
        "errorType": "$context.error.responseType",
        "latencyMs": "$context.responseLatency",
        "integrationLatencyMs": "$context.integration.latency",
        "keyId": "$context.authorizer.key_id",
        "userId": "$context.authorizer.user_id",
    }.items() <= fields.items()
    variables = " ".join(fields.values())
    for never in ["apiKey", "$context.path", "$input", "header", "querystring", "$context.authorizer.organization_ids"]:
        assert never not in variables, never
    assert template()["Parameters"]["AccessLogging"]["Default"] == "true"


def test_the_account_wide_logging_role_is_optional_and_outlives_the_stack() -> None:
    assert template()["Parameters"]["CreateApiGatewayAccountRole"]["Default"] == "false"
    for name in ("ApiGatewayCloudWatchRole", "ApiGatewayAccount"):
        assert resource(name)["Condition"] == "CreatesAccountRole"
        assert resource(name)["DeletionPolicy"] == "Retain"  # other stacks' stages may log through it
    ready = resource("AccountLoggingReady")
    assert ready["Metadata"]["AccountSetting"] == {"Fn::If": ["CreatesAccountRole", {"Ref": "ApiGatewayAccount"}, ""]}
    assert resource("MusicApi")["DependsOn"] == "AccountLoggingReady"


def test_429s_are_counted_from_the_access_log_by_error_type() -> None:
    metric_filter = monitoring().resource("RateLimitedMetricFilter")
    (transformation,) = metric_filter["Properties"]["MetricTransformations"]

    assert metric_filter["Condition"] == "AccessLoggingEnabled"
    assert metric_filter["Properties"]["LogGroupName"] == {"Ref": "AccessLogGroupName"}
    assert passed("AccessLogGroupName") == {"Fn::If": ["AccessLoggingEnabled", {"Ref": "ApiAccessLogGroup"}, ""]}
    assert metric_filter["Properties"]["FilterPattern"] == '{ $.status = "429" }'
    assert (transformation["MetricNamespace"], transformation["MetricName"]) == ("MusicApi", "RateLimited")
    assert transformation["Dimensions"] == [{"Key": "errorType", "Value": "$.errorType"}]
    assert json.loads(access_log_format())["errorType"] == "$context.error.responseType"


def test_every_alarm_links_the_section_of_docs_operations_that_says_what_to_do() -> None:
    operations = (default_template().root / "docs" / "operations.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^### (\S+)$", operations, re.MULTILINE))

    for name, alarm in alarms().items():
        (anchor,) = re.findall(r"docs/operations\.md#(\S+)$", alarm["Properties"]["AlarmDescription"])
        assert anchor in headings, name
        assert f"`{name}`" in operations, name


def test_the_local_stack_reads_the_sweepers_schedule_and_routes_its_events_to_it() -> None:
    (schedule,) = local_template().schedules()

    assert schedule == Schedule("DispatchSweeperFunction", "Sweep", 60)
    assert function_for(scheduled_event(schedule, datetime.now(UTC))) == "DispatchSweeperFunction"
    assert function_for(load_event("dispatch_sweep.json")) == "DispatchSweeperFunction"


def test_a_schedule_the_local_stack_cannot_run_is_refused() -> None:
    document = copy.deepcopy(template())
    document["Resources"]["DispatchSweeperFunction"]["Properties"]["Events"]["Sweep"]["Properties"]["Schedule"] = (
        "cron(0 12 * * ? *)"
    )

    with pytest.raises(UnsupportedTemplateError, match="rate"):
        Template(document).schedules()


def test_the_local_queues_are_the_templates_with_the_dead_letter_queue_first() -> None:
    arns = {"GenerationDeadLetterQueue": "arn:aws:sqs:us-east-1:123456789012:dlq"}

    arguments = local_template().create_queue_arguments("GenerationQueue", "generations", arns)

    assert local_template().queues_in_creation_order() == [
        "GenerationDeadLetterQueue",
        "WebhookDeadLetterQueue",
        "WebhookStreamFailureQueue",
        "GenerationQueue",
        "WebhookQueue",
    ]
    assert arguments["QueueName"] == "generations"
    assert json.loads(arguments["Attributes"].pop("RedrivePolicy")) == {
        "deadLetterTargetArn": arns["GenerationDeadLetterQueue"],
        "maxReceiveCount": 5,
    }
    assert arguments["Attributes"] == {
        "SqsManagedSseEnabled": "true",
        "VisibilityTimeout": "1800",
        "MessageRetentionPeriod": "345600",
        "ReceiveMessageWaitTimeSeconds": "20",
    }


def test_webhook_delivery_reads_webhook_items_and_writes_gone_records_only() -> None:
    properties = resource("WebhookDeliveryFunction")["Properties"]
    (policy,) = properties["Policies"]
    statements = {statement["Sid"]: statement for statement in policy["Statement"]}
    dynamodb = {sid: s for sid, s in statements.items() if str(s["Action"]).startswith("dynamodb:")}

    assert {
        sid: (s["Action"], s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"])
        for sid, s in dynamodb.items()
    } == {
        "ReadWebhookItemsOnly": ("dynamodb:GetItem", ["WEBHOOK#*", "WEBHOOK_GONE#*"]),
        "RecordGoneEndpointsOnly": ("dynamodb:PutItem", ["WEBHOOK_GONE#*"]),
    }
    assert all(s["Resource"] == {"Fn::GetAtt": "AuthTable.Arn"} for s in dynamodb.values())
    assert "API_KEY_ENVIRONMENT" in properties["Environment"]["Variables"]
    assert "WEBHOOK_LOOPBACK_ALLOWED" not in json.dumps(template())  # the local stack's alone
    (event,) = properties["Events"].values()
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_only_terminal_transitions_of_jobs_with_a_webhook_invoke_the_trigger() -> None:
    (source,) = stream_sources(local_template())
    terminal = {
        "eventName": "MODIFY",
        "dynamodb": {"NewImage": {"status": {"S": "failed"}, "request": {"M": {"webhook_url": {"S": "https://x"}}}}},
    }
    no_hook = {"eventName": "MODIFY", "dynamodb": {"NewImage": {"status": {"S": "failed"}, "request": {"M": {}}}}}
    running = {
        "eventName": "MODIFY",
        "dynamodb": {"NewImage": {"status": {"S": "running"}, "request": {"M": {"webhook_url": {"S": "https://x"}}}}},
    }
    created = terminal | {"eventName": "INSERT"}

    assert [any(matches(f, record) for f in source.filters) for record in (terminal, no_hook, running, created)] == [
        True,
        False,
        False,
        False,
    ]
    assert resource("JobsTable")["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
