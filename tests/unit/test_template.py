"""template.yaml keeps the promises the code relies on: route, runtime, least privilege, bounded time."""

import json
import re
from typing import Any

import pytest

from music_api.core.envelope import ErrorBody
from music_api.core.errors import GATEWAY_RESPONSES
from music_api.generations.settings import GenerationSettings
from music_local.gateway import RESPONSE_TYPE_STATUS
from music_local.template import UnsupportedTemplateError, default_template, local_template


def resource(logical_id: str) -> dict[str, Any]:
    return default_template().resource(logical_id)


def template() -> Any:
    return default_template().document


ROUTE = "/v1/music/{organization_id}/generations/{job_id}"
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
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
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
