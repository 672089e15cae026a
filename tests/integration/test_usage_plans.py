"""Usage plans through the local gateway, in-process with a clock the tests move: rate, burst, quota, plan changes.

Two users of one organization (tests/data/plans.json): usr_trial01's key is on the trial plan, usr_paying02's
on the template's default plan. The plans are template.yaml's, created in the moto server; a test that needs
other limits overrides the template's parameters, as `sam deploy --parameter-overrides` would.
"""

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from music_admin.usage_plans import MeteredKeys
from music_api.authorizer.keys import digest_of
from music_api.core.errors import GATEWAY_RESPONSES
from music_local.emulator import LocalAws
from music_local.fixtures import load_fixtures, read_fixtures
from music_local.gateway import HttpRequest, HttpResponse, LocalGateway
from music_local.launcher import ROOT
from music_local.metering import REFRESH_SECONDS, UsagePlanMeter
from music_local.moto_process import MotoProcess
from music_local.stack import local_functions
from music_local.template import LOCAL_PARAMETERS, Template, default_template, local_template
from tests.helpers.aws import AUDIO_BUCKET, AUTH_TABLE, JOBS_TABLE, reset_aws
from tests.helpers.contract import spec_example, without_request_specifics

PLANS = ROOT / "tests" / "data" / "plans.json"
TRIAL_USER, PAYING_USER = "usr_trial01", "usr_paying02"
TRIAL_KEY = "frd_test_XW2uVtrpAkRW5Acx8t0IxLaw4eK2qM3NCJfa"
PAYING_KEY = "frd_test_NHuebAoShwCD7IWguImkwL4S2wd2ub2GGTZK"
TRIAL_JOB = "/v1/music/org_studio01/generations/mgen_trialjob0001"
PAYING_JOB = "/v1/music/org_studio01/generations/mgen_payingjob001"
GET_ROUTE = "/v1/music/{organization_id}/generations/{job_id}/GET"
DEFAULTS = default_template().document["Parameters"]
TRIAL_BURST = int(DEFAULTS["TrialBurstLimit"]["Default"])
TRIAL_RATE = float(DEFAULTS["TrialRateLimit"]["Default"])
MIDNIGHT_AFTER_START = datetime(1970, 1, 2, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0  # 00:16:40 UTC on a Thursday

    def __call__(self) -> float:
        return self.now


def template_with(parameters: dict[str, Any] | None = None, method_throttles: dict[str, Any] | None = None) -> Template:
    """template.yaml as the local stack deploys it, with other parameter values, and per-method budgets added to
    plans (by logical id)."""
    document = copy.deepcopy(default_template().document)
    for plan, throttles in (method_throttles or {}).items():
        document["Resources"][plan]["Properties"]["ApiStages"][0]["Throttle"] = throttles
    overrides = {name: str(value) for name, value in (parameters or {}).items()}
    return Template(document, default_template().root).with_parameters(LOCAL_PARAMETERS | overrides)


class Stack:
    def __init__(self, moto: MotoProcess, template: Template, clock: Clock) -> None:
        self.aws = LocalAws(moto.endpoint, jobs_table=JOBS_TABLE, auth_table=AUTH_TABLE, bucket=AUDIO_BUCKET)
        self.aws.create_resources(template)
        load_fixtures(read_fixtures(PLANS, template), self.aws)
        self.clock = clock
        meter = UsagePlanMeter(self.aws.apigateway, clock=clock)
        self.gateway = LocalGateway(template, local_functions(template, self.aws), meter, clock=clock)

    def get(self, key: str, path: str) -> HttpResponse:
        return self.gateway.handle(HttpRequest("GET", path, "", [("Host", "127.0.0.1"), ("X-API-Key", key)]))

    def trial(self) -> HttpResponse:
        return self.get(TRIAL_KEY, TRIAL_JOB)

    def paying(self) -> HttpResponse:
        return self.get(PAYING_KEY, PAYING_JOB)


StackFactory = Callable[..., Stack]


@pytest.fixture
def make_stack(moto_server: MotoProcess, monkeypatch: pytest.MonkeyPatch) -> StackFactory:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)
    reset_aws()
    moto_server.reset()
    return lambda template=None: Stack(moto_server, template or local_template(), Clock())


def assert_refused(response: HttpResponse, response_type: str) -> None:
    """The gateway's own answer, in the contract's envelope, with the template's Retry-After."""
    expected = GATEWAY_RESPONSES[response_type]
    body = json.loads(response.body)
    assert response.status == expected.error.status == 429
    assert response.headers["x-amzn-ErrorType"] == response_type
    assert response.headers["Retry-After"] == str(expected.retry_after_seconds)
    assert body["success"] is False
    assert body["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert body["error"]["type"] == "rate_limit_error"
    assert body["error"]["system_message"] == expected.error.default_system_message
    assert body["error"]["trace_id"] == f"req_{response.headers['x-amzn-RequestId']}"


def test_a_key_past_its_burst_gets_429_while_another_key_of_its_organization_does_not(
    make_stack: StackFactory,
) -> None:
    stack = make_stack()

    served = [stack.trial().status for _ in range(TRIAL_BURST)]
    throttled = stack.trial()

    assert served == [200] * TRIAL_BURST
    assert_refused(throttled, "THROTTLED")
    assert [stack.paying().status for _ in range(3 * TRIAL_BURST)] == [200] * (3 * TRIAL_BURST)
    assert stack.trial().status == 429  # the clock has not moved: no token came back


def test_tokens_come_back_at_the_plans_rate_up_to_its_burst(make_stack: StackFactory) -> None:
    stack = make_stack()
    for _ in range(TRIAL_BURST):
        stack.trial()

    stack.clock.now += 1 / TRIAL_RATE
    assert [stack.trial().status, stack.trial().status] == [200, 429]

    stack.clock.now += 3600  # an hour idle refills the bucket to its burst, never beyond
    statuses = [stack.trial().status for _ in range(TRIAL_BURST + 1)]
    assert statuses == [200] * TRIAL_BURST + [429]


def test_the_quota_runs_out_then_resets_with_its_period(make_stack: StackFactory) -> None:
    stack = make_stack(template_with({"TrialQuotaLimit": 3, "TrialQuotaPeriod": "DAY"}))

    served = []
    for _ in range(3):
        served.append(stack.trial().status)
        stack.clock.now += 60  # far apart: the bucket is never what stops them
    used_up = stack.trial()

    assert served == [200, 200, 200]
    assert_refused(used_up, "QUOTA_EXCEEDED")
    assert stack.paying().status == 200  # another key, another quota
    stack.clock.now = MIDNIGHT_AFTER_START - 1
    assert stack.trial().status == 429
    stack.clock.now = MIDNIGHT_AFTER_START
    assert stack.trial().status == 200


def test_throttled_requests_use_no_quota(make_stack: StackFactory) -> None:
    stack = make_stack(template_with({"TrialQuotaLimit": 2, "TrialBurstLimit": 1}))

    assert [stack.trial().status, stack.trial().status] == [200, 429]  # the second was THROTTLED
    stack.clock.now += 60
    assert stack.trial().status == 200
    stack.clock.now += 60
    assert stack.trial().headers["x-amzn-ErrorType"] == "QUOTA_EXCEEDED"


def test_a_methods_own_budget_applies_on_top_of_the_plans(make_stack: StackFactory) -> None:
    method_budget = {GET_ROUTE: {"RateLimit": 1, "BurstLimit": 2}}
    stack = make_stack(template_with(method_throttles={"StandardUsagePlan": method_budget}))

    statuses = [stack.paying().status for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert stack.trial().status == 200  # the trial plan has no such budget


def test_a_plan_change_applies_without_waiting_for_the_authorizers_cache(make_stack: StackFactory) -> None:
    stack = make_stack()
    for _ in range(TRIAL_BURST + 1):
        stack.trial()
    calls = stack.gateway.authorizer_calls
    key_id = stack.aws.auth.get_api_key(digest_of(TRIAL_KEY)).key_id  # type: ignore[union-attr]

    previous = MeteredKeys(stack.aws.auth, stack.aws.usage_plans).change_plan(TRIAL_USER, key_id, "standard")
    stack.clock.now += REFRESH_SECONDS

    assert previous == "trial"
    assert [stack.trial().status for _ in range(2 * TRIAL_BURST)] == [200] * (2 * TRIAL_BURST)
    assert stack.gateway.authorizer_calls == calls  # the cached policy was reused throughout


@pytest.mark.parametrize("change", ["no plan", "disabled"])
def test_a_key_the_gateway_cannot_meter_never_reaches_the_handler(make_stack: StackFactory, change: str) -> None:
    stack = make_stack()
    gateway_key_id = stack.aws.auth.get_api_key(digest_of(TRIAL_KEY)).gateway_key_id  # type: ignore[union-attr]
    if change == "no plan":
        plan_id = stack.aws.usage_plan_ids["trial"]
        stack.aws.apigateway.delete_usage_plan_key(usagePlanId=plan_id, keyId=gateway_key_id)
    else:
        stack.aws.apigateway.update_api_key(
            apiKey=gateway_key_id, patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
        )

    refused = stack.trial()

    # To the caller a key the gateway cannot meter does not work: the contract's 401, as for a revoked key.
    assert refused.status == 401
    assert refused.headers["x-amzn-ErrorType"] == "INVALID_API_KEY"
    assert without_request_specifics(json.loads(refused.body)) == without_request_specifics(
        spec_example("401 Unauthorized:")
    )
    assert stack.paying().status == 200
