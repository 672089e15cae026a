"""Usage plans through `make run`'s server: a key on the trial plan runs out of burst and gets the contract's 429
with Retry-After, while another key of the same organization keeps getting 200 (tests/data/plans.json).

The trial plan's limits are template.yaml's defaults (TrialRateLimit, TrialBurstLimit), as deployed.
"""

import json
import time
from collections.abc import Iterator

import pytest

from music_api.authorizer.keys import digest_of, key_id_of
from music_api.core.errors import GATEWAY_RESPONSES
from music_local.launcher import ROOT, LaunchedApi, launched
from music_local.template import default_template
from tests.helpers.contract import without_request_specifics
from tests.helpers.http import assert_no_secrets_logged, request_json
from tests.helpers.local_operator import local_operator

PLANS = ROOT / "tests" / "data" / "plans.json"
TRIAL_KEY = "frd_test_XW2uVtrpAkRW5Acx8t0IxLaw4eK2qM3NCJfa"
PAYING_KEY = "frd_test_NHuebAoShwCD7IWguImkwL4S2wd2ub2GGTZK"
TRIAL_JOB = "/v1/music/org_studio01/generations/mgen_trialjob0001"
PAYING_JOB = "/v1/music/org_studio01/generations/mgen_payingjob001"
TRIAL = next(plan for plan in default_template().usage_plans() if plan.name == "trial")


@pytest.fixture(scope="module")
def plans_api() -> Iterator[LaunchedApi]:
    with launched("--fixtures", str(PLANS), "--log-level", "DEBUG") as api:
        yield api
        # The gateway's own key values, read from the emulator while it runs (as the banner's operator, since
        # the emulator enforces IAM): none may appear in any output.
        operator = local_operator(api)
        client = operator.session.client("apigateway", endpoint_url=operator.endpoint)
        gateway_key_values = [key["value"] for key in client.get_api_keys(includeValues=True)["items"]]
    assert api.exit_code == 0
    assert_no_secrets_logged(api.output, PLANS)
    assert len(gateway_key_values) == 2
    for value in gateway_key_values:
        assert value not in "".join(api.output)


def test_a_trial_key_gets_429_after_its_burst_while_another_key_of_its_organization_gets_200(
    plans_api: LaunchedApi,
) -> None:
    assert TRIAL.throttle is not None
    started = time.monotonic()
    statuses: list[int] = []
    while len(statuses) < 10 * TRIAL.throttle.burst and 429 not in statuses:
        status, headers, body = request_json(plans_api.url, TRIAL_JOB, TRIAL_KEY)
        statuses.append(status)
    elapsed = time.monotonic() - started

    served = len(statuses) - 1
    assert statuses == [200] * served + [429]
    # The burst, plus what the rate refilled meanwhile: never fewer, never more.
    assert TRIAL.throttle.burst <= served <= TRIAL.throttle.burst + int(TRIAL.throttle.rate * elapsed) + 1
    throttled = GATEWAY_RESPONSES["THROTTLED"]
    assert without_request_specifics(body) == {
        "success": False,
        "error": {
            "code": "RATE_LIMIT_EXCEEDED",
            "message": throttled.error.message,
            "system_message": "Rate limit exceeded",
            "type": "rate_limit_error",
            "status": 429,
            "details": {},
        },
    }
    assert headers["Retry-After"] == str(throttled.retry_after_seconds)
    assert body["error"]["trace_id"] == f"req_{headers['x-amzn-RequestId']}"
    assert headers["Cache-Control"] == "no-store"

    paying = [request_json(plans_api.url, PAYING_JOB, PAYING_KEY)[0] for _ in range(3 * TRIAL.throttle.burst)]

    assert paying == [200] * len(paying)


def access_lines(api: LaunchedApi, request_id: str) -> list[dict[str, str]]:
    """The access log lines the server printed for ``request_id`` (it prints each just after answering)."""
    deadline = time.monotonic() + 10
    while True:
        found = [json.loads(line) for line in list(api.output) if line.startswith('{"requestId":"' + request_id)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_access_lines_name_the_rate_limited_caller_by_ids_never_by_key(plans_api: LaunchedApi) -> None:
    assert TRIAL.throttle is not None
    for _ in range(10 * TRIAL.throttle.burst):
        status, headers, _ = request_json(plans_api.url, TRIAL_JOB, TRIAL_KEY)
        if status == 429:
            break

    (line,) = access_lines(plans_api, headers["x-amzn-RequestId"])

    assert line["status"] == "429"
    assert line["errorType"] == "THROTTLED"
    assert line["route"] == "/v1/music/{organization_id}/generations/{job_id}"
    assert line["keyId"] == key_id_of(digest_of(TRIAL_KEY))
    assert line["userId"] == "usr_trial01"
    assert line["integrationLatencyMs"] == "-"  # refused at the gateway: the handler never ran
    assert TRIAL_KEY not in json.dumps(line)


def test_the_cancel_route_is_metered_by_the_same_plan(plans_api: LaunchedApi) -> None:
    """The plan's throttle covers every route: cancels (the trial job is queued, then cancelled, then unchanged)
    run out of the same bucket, never more than the burst plus what the rate refills."""
    assert TRIAL.throttle is not None
    started = time.monotonic()
    statuses: list[int] = []
    while len(statuses) < 10 * TRIAL.throttle.burst and 429 not in statuses:
        status, _, body = request_json(plans_api.url, f"{TRIAL_JOB}/cancel", TRIAL_KEY, "POST")
        statuses.append(status)
    elapsed = time.monotonic() - started

    served = len(statuses) - 1
    assert statuses == [200] * served + [429]
    assert served <= TRIAL.throttle.burst + int(TRIAL.throttle.rate * elapsed) + 1
    assert body["error"]["code"] == "RATE_LIMIT_EXCEEDED"
