"""The REQUEST authorizer against the moto server: every rejection, the policy, and zero lookups for junk."""

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest

from authorizer.app import lambda_handler
from music_api.authorizer import handler as handler_module
from music_api.authorizer.handler import UnauthorizedError
from music_api.authorizer.keys import digest_of
from music_api.authorizer.store import CorruptAuthItemError, api_key_key
from music_api.core.aws import dynamodb_client
from music_api.core.errors import InternalError
from music_local.emulator import LocalAws
from music_local.gateway import LambdaContext
from music_local.iam import is_allowed
from tests.helpers.aws import issue_key, reset_aws
from tests.helpers.events import load_event
from tests.helpers.seed import ALICE, ALICE_KEY, BOB_KEY, CAROL, ORG, OTHER_ORG, UNKNOWN_KEY
from tests.helpers.world import DYNAMODB_LOCAL

pytestmark = [pytest.mark.runs_as("AuthorizerFunction"), pytest.mark.dynamodb(DYNAMODB_LOCAL)]

Authorize = Callable[[dict[str, Any]], dict[str, Any]]
ARN_PREFIX = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/test"


def method_arn(organization_id: str, job_id: str = "mgen_2f8b1c4e9a7d", method: str = "GET") -> str:
    return f"{ARN_PREFIX}/{method}/v1/music/{organization_id}/generations/{job_id}"


def event_with_headers(headers: dict[str, list[str]], **changes: Any) -> dict[str, Any]:
    event = load_event("authorizer_valid_key.json")
    event["multiValueHeaders"] = headers
    event["headers"] = {name: values[-1] for name, values in headers.items()}
    event.update(changes)
    return event


@pytest.fixture
def authorize(aws: LocalAws, lambda_context: LambdaContext) -> Authorize:
    def run(event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = lambda_handler(event, lambda_context)
        return response

    return run


def record_dynamodb_calls() -> list[str]:
    """Every DynamoDB operation the function's client makes from now on (after any reset_aws())."""
    calls: list[str] = []
    dynamodb_client().meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    return calls


@pytest.fixture
def dynamodb_calls(aws: LocalAws) -> list[str]:
    return record_dynamodb_calls()


def on_stage_accepting(monkeypatch: pytest.MonkeyPatch, environment: str) -> None:
    monkeypatch.setenv("API_KEY_ENVIRONMENT", environment)
    reset_aws()


def unauthorized(authorize: Authorize, event: dict[str, Any]) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(event)


class TestAValidKey:
    def test_allows_every_organization_of_the_user_and_nothing_else(self, authorize: Authorize) -> None:
        policy = authorize(load_event("authorizer_valid_key.json"))

        assert policy["principalId"] == ALICE
        assert policy["context"] == {"user_id": ALICE, "key_id": "key_07b504ed80634ade", "organization_ids": ORG}
        (statement,) = policy["policyDocument"]["Statement"]
        assert statement == {
            "Action": "execute-api:Invoke",
            "Effect": "Allow",
            "Resource": [
                f"{ARN_PREFIX}/GET/v1/music/{ORG}/generations",
                f"{ARN_PREFIX}/GET/v1/music/{ORG}/generations/*",
                f"{ARN_PREFIX}/POST/v1/music/{ORG}/generations",
                f"{ARN_PREFIX}/POST/v1/music/{ORG}/generations/*/cancel",
                f"{ARN_PREFIX}/GET/v1/music/{ORG}/engines",
                f"{ARN_PREFIX}/GET/v1/music/{ORG}/tracks/*",
            ],
        }

    def test_names_the_keys_own_gateway_key_for_its_usage_plan(self, authorize: Authorize, aws: LocalAws) -> None:
        stored = {key: aws.auth.get_api_key(digest_of(key)) for key in (ALICE_KEY, BOB_KEY)}

        alice = authorize(load_event("authorizer_valid_key.json"))
        bob = authorize(event_with_headers({"X-API-Key": [BOB_KEY]}))

        assert alice["usageIdentifierKey"] == stored[ALICE_KEY].gateway_key_value  # type: ignore[union-attr]
        assert bob["usageIdentifierKey"] == stored[BOB_KEY].gateway_key_value  # type: ignore[union-attr]
        assert alice["usageIdentifierKey"] != bob["usageIdentifierKey"]  # one budget per key, same organization
        assert alice["usageIdentifierKey"] not in json.dumps(alice["context"])  # the handler's event carries that

    def test_the_cached_policy_never_opens_another_organizations_path(self, authorize: Authorize) -> None:
        policy = authorize(load_event("authorizer_valid_key.json"))

        assert is_allowed(policy, method_arn(ORG))
        assert is_allowed(policy, method_arn(ORG, "mgen_anyotherjob1"))
        assert is_allowed(policy, f"{ARN_PREFIX}/GET/v1/music/{ORG}/engines")
        assert is_allowed(policy, f"{ARN_PREFIX}/POST/v1/music/{ORG}/generations")
        assert is_allowed(policy, f"{ARN_PREFIX}/GET/v1/music/{ORG}/tracks/mtrack_7c1a9e2f4b8d")
        for arn in [
            f"{ARN_PREFIX}/POST/v1/music/{OTHER_ORG}/generations",
            f"{ARN_PREFIX}/PUT/v1/music/{ORG}/generations",
            f"{ARN_PREFIX}/GET/v1/music/{OTHER_ORG}/engines",
            f"{ARN_PREFIX}/GET/v1/music/{ORG}/engines/studio",
            method_arn(OTHER_ORG),
            method_arn("org_abc1234"),
            method_arn("org_abc12"),
            method_arn(ORG, method="DELETE"),
            method_arn(ORG, method="POST"),
            f"{ARN_PREFIX}/GET/v1/music/{OTHER_ORG}/tracks/mtrack_7c1a9e2f4b8d",
            f"{ARN_PREFIX}/POST/v1/music/{ORG}/tracks/mtrack_7c1a9e2f4b8d",
            f"{ARN_PREFIX}/GET/v1/music/{ORG}/tracks",
            f"{ARN_PREFIX}/GET/v1/music/{ORG}",
            method_arn(ORG).replace("/test/", "/dev/"),
            method_arn(ORG).replace("a1b2c3d4e5", "zzzzzzzzzz"),
        ]:
            assert not is_allowed(policy, arn), arn

    def test_a_member_of_two_organizations_gets_both(self, authorize: Authorize, aws: LocalAws) -> None:
        aws.auth.add_membership(ALICE, OTHER_ORG, "member")

        policy = authorize(load_event("authorizer_other_organization.json"))

        assert policy["context"]["organization_ids"] == f"{ORG},{OTHER_ORG}"
        assert is_allowed(policy, method_arn(ORG))
        assert is_allowed(policy, method_arn(OTHER_ORG))

    def test_a_user_without_organizations_is_denied_everything(self, authorize: Authorize) -> None:
        policy = authorize(load_event("authorizer_user_without_organizations.json"))

        (statement,) = policy["policyDocument"]["Statement"]
        assert statement["Effect"] == "Deny"
        assert not is_allowed(policy, method_arn(ORG))
        assert policy["context"]["organization_ids"] == ""

    def test_a_live_stage_accepts_a_live_key(
        self, authorize: Authorize, aws: LocalAws, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        live_key = issue_key(aws, CAROL, "live")
        on_stage_accepting(monkeypatch, "live")
        event = event_with_headers({"X-API-Key": [live_key]}, methodArn=method_arn(OTHER_ORG, "mgen_carol00001"))

        assert is_allowed(authorize(event), event["methodArn"])

    @pytest.mark.parametrize("header", ["X-API-Key", "x-api-key", "X-Api-Key", "X-API-KEY"])
    def test_the_header_name_is_case_insensitive(self, authorize: Authorize, header: str) -> None:
        policy = authorize(event_with_headers({header: [ALICE_KEY]}))

        assert policy["principalId"] == ALICE

    def test_a_key_item_with_a_malformed_organization_id_is_never_trusted(
        self, authorize: Authorize, aws: LocalAws
    ) -> None:
        """A wildcard in a stored copy would open every path: such an item is corrupt, and nothing is allowed."""
        aws.dynamodb.update_item(
            TableName=aws.auth_table,
            Key=api_key_key(digest_of(ALICE_KEY)),
            UpdateExpression="SET organization_ids = :orgs",
            ExpressionAttributeValues={":orgs": {"L": [{"S": ORG}, {"S": "org_*"}]}},
        )

        with pytest.raises(CorruptAuthItemError):
            authorize(load_event("authorizer_valid_key.json"))

    def test_a_removed_membership_closes_the_organization_at_once(self, authorize: Authorize, aws: LocalAws) -> None:
        aws.auth.add_membership(ALICE, OTHER_ORG, "member")
        aws.auth.remove_membership(ALICE, ORG)

        policy = authorize(load_event("authorizer_valid_key.json"))

        assert policy["context"]["organization_ids"] == OTHER_ORG
        assert not is_allowed(policy, method_arn(ORG))

    def test_an_event_with_single_value_headers_only_is_read_too(self, authorize: Authorize) -> None:
        event = load_event("authorizer_valid_key.json")
        del event["multiValueHeaders"]

        assert authorize(event)["principalId"] == ALICE

    @pytest.mark.parametrize(
        "padded", [f" {ALICE_KEY}", f"{ALICE_KEY}  ", f"\t{ALICE_KEY} "], ids=["leading", "trailing", "tab"]
    )
    def test_whitespace_around_the_key_is_stripped(self, authorize: Authorize, padded: str) -> None:
        """docs/api-keys.md: surrounding whitespace is stripped (a key pasted with a space still works)."""
        assert authorize(event_with_headers({"X-API-Key": [padded]}))["principalId"] == ALICE


class TestRejectedKeys:
    @pytest.mark.parametrize(
        "name",
        ["authorizer_revoked_key.json", "authorizer_expired_key.json", "authorizer_unknown_key.json"],
    )
    def test_revoked_expired_and_unknown_keys_are_401(self, authorize: Authorize, name: str) -> None:
        unauthorized(authorize, load_event(name))

    @pytest.mark.parametrize(
        "headers",
        [
            pytest.param({}, id="missing"),
            pytest.param({"X-API-Key": [""]}, id="empty"),
            pytest.param({"X-API-Key": ["   "]}, id="whitespace"),
            pytest.param({"X-API-Key": ["ghp_" + ALICE_KEY[9:]]}, id="wrong-prefix"),
            pytest.param({"X-API-Key": [ALICE_KEY[:-1] + "0"]}, id="bad-checksum"),
            pytest.param({"X-API-Key": [ALICE_KEY[:20]]}, id="truncated"),
            pytest.param({"X-API-Key": [f"Bearer {ALICE_KEY}"]}, id="bearer-prefix"),
            pytest.param({"X-API-Key": [ALICE_KEY, BOB_KEY]}, id="two-values"),
            pytest.param({"X-API-Key": [ALICE_KEY], "x-api-key": [ALICE_KEY]}, id="two-headers"),
            pytest.param({"Authorization": [f"Bearer {ALICE_KEY}"]}, id="authorization-header-only"),
        ],
    )
    def test_junk_is_401_without_a_single_dynamodb_request(
        self, authorize: Authorize, dynamodb_calls: list[str], headers: dict[str, list[str]]
    ) -> None:
        unauthorized(authorize, event_with_headers(headers))

        assert dynamodb_calls == []

    def test_two_spellings_of_the_header_in_single_value_headers_are_401(self, authorize: Authorize) -> None:
        event = load_event("authorizer_valid_key.json")
        del event["multiValueHeaders"]
        event["headers"] |= {"x-api-key": BOB_KEY}

        unauthorized(authorize, event)

    def test_a_key_only_in_the_query_string_is_401(self, authorize: Authorize, dynamodb_calls: list[str]) -> None:
        event = event_with_headers({}, queryStringParameters={"api_key": ALICE_KEY, "X-API-Key": ALICE_KEY})

        unauthorized(authorize, event)
        assert dynamodb_calls == []

    def test_an_unknown_but_well_formed_key_costs_exactly_one_read(
        self, authorize: Authorize, dynamodb_calls: list[str]
    ) -> None:
        unauthorized(authorize, event_with_headers({"X-API-Key": [UNKNOWN_KEY]}))

        assert dynamodb_calls == ["GetItem"]

    def test_a_valid_key_costs_exactly_one_read(self, authorize: Authorize, dynamodb_calls: list[str]) -> None:
        authorize(load_event("authorizer_valid_key.json"))

        assert dynamodb_calls == ["GetItem"]

    def test_a_stored_live_key_is_401_on_a_test_stage_without_a_read(
        self, authorize: Authorize, aws: LocalAws, dynamodb_calls: list[str]
    ) -> None:
        """A stage accepts keys of one environment: a test key never opens live data, nor a live key test data."""
        live_key = issue_key(aws, ALICE, "live")

        unauthorized(authorize, event_with_headers({"X-API-Key": [live_key]}))
        assert dynamodb_calls == []

    def test_a_valid_test_key_is_401_on_a_live_stage_without_a_read(
        self, authorize: Authorize, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        on_stage_accepting(monkeypatch, "live")
        calls = record_dynamodb_calls()

        unauthorized(authorize, load_event("authorizer_valid_key.json"))
        assert calls == []

    def test_without_its_environment_the_authorizer_decides_nothing(
        self, authorize: Authorize, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Fail closed: a stage whose environment is not configured accepts no key at all (503, not 401)."""
        monkeypatch.delenv("API_KEY_ENVIRONMENT")
        reset_aws()

        with pytest.raises(InternalError):
            authorize(load_event("authorizer_valid_key.json"))

    def test_an_active_item_with_a_revocation_time_is_401(self, authorize: Authorize, aws: LocalAws) -> None:
        """docs/data-model.md: usable only while status is active AND revoked_at is absent; an item caught half
        way through a revocation (or restored from an old backup of the status alone) fails closed."""
        aws.dynamodb.update_item(
            TableName=aws.auth_table,
            Key=api_key_key(digest_of(ALICE_KEY)),
            UpdateExpression="SET revoked_at = :now",
            ExpressionAttributeValues={":now": {"S": "2026-06-29T08:15:00Z"}},
        )

        unauthorized(authorize, load_event("authorizer_valid_key.json"))

    def test_revocation_applies_to_the_next_authorization(self, authorize: Authorize, aws: LocalAws) -> None:
        event = load_event("authorizer_valid_key.json")
        assert authorize(event)["principalId"] == ALICE

        aws.auth.revoke_api_key(ALICE, "key_07b504ed80634ade")

        unauthorized(authorize, event)


def test_an_unreachable_store_is_an_authorizer_failure_not_a_401(
    monkeypatch: pytest.MonkeyPatch, lambda_context: LambdaContext
) -> None:
    """Any other error makes API Gateway answer AUTHORIZER_FAILURE (503): a caller must not be told their
    valid key is wrong because the store hiccuped."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    reset_aws()

    with pytest.raises(Exception) as raised:  # noqa: PT011 - any message but "Unauthorized"
        lambda_handler(load_event("authorizer_valid_key.json"), lambda_context)

    assert str(raised.value) != "Unauthorized"
    assert raised.value.__class__.__name__ == "StoreUnavailableError"


def test_a_tampered_key_item_is_a_failure_not_an_allow(aws: LocalAws, authorize: Authorize) -> None:
    """An item whose digest attribute disagrees with its key is corrupt: never trusted, never a 401."""
    digest = digest_of(ALICE_KEY)
    aws.dynamodb.update_item(
        TableName=aws.auth_table,
        Key=api_key_key(digest),
        UpdateExpression="SET digest = :other",
        ExpressionAttributeValues={":other": {"S": digest_of(BOB_KEY)}},
    )

    with pytest.raises(CorruptAuthItemError):
        authorize(load_event("authorizer_valid_key.json"))


@pytest.mark.parametrize(
    "event",
    [[], None, "X-API-Key: frd", 42, {"headers": "X-API-Key"}, {"headers": None, "multiValueHeaders": []}],
    ids=repr,
)
def test_a_malformed_event_is_unauthorized_never_another_exception(
    event: Any, lambda_context: LambdaContext, dynamodb_calls: list[str]
) -> None:
    """A direct invocation can carry anything: no key in it is the contract's 401, without a lookup."""
    with pytest.raises(UnauthorizedError):
        lambda_handler(event, lambda_context)

    assert dynamodb_calls == []


@pytest.mark.parametrize("request_context", ["a string", None, [], {"requestId": ["x"]}], ids=repr)
def test_a_malformed_request_context_does_not_stop_a_valid_key(authorize: Authorize, request_context: Any) -> None:
    event = load_event("authorizer_valid_key.json") | {"requestContext": request_context}

    assert authorize(event)["principalId"] == ALICE


def test_an_unexpected_failure_is_the_catalogues_internal_error(
    authorize: Authorize, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only Unauthorized (401) or one of the catalogue's errors (the gateway's 503) ever leaves the authorizer."""
    monkeypatch.setattr(handler_module, "authorizer_policy", lambda *args, **kwargs: 1 / 0)

    with pytest.raises(InternalError) as raised:
        authorize(load_event("authorizer_valid_key.json"))

    assert isinstance(raised.value.__cause__, ZeroDivisionError)


@pytest.mark.parametrize("attribute", ["gateway_key_id", "gateway_key_value"])
def test_a_key_item_without_its_gateway_key_is_a_failure_not_an_allow(
    aws: LocalAws, authorize: Authorize, attribute: str
) -> None:
    """Without a usage identifier API Gateway could meter nothing: such an item is corrupt (503), never a 401."""
    aws.dynamodb.update_item(
        TableName=aws.auth_table, Key=api_key_key(digest_of(ALICE_KEY)), UpdateExpression=f"REMOVE {attribute}"
    )

    with pytest.raises(CorruptAuthItemError):
        authorize(load_event("authorizer_valid_key.json"))
