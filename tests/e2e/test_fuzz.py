"""Contract fuzzing: schemathesis generates requests from docs/openapi.yaml and sends them to the local API, for
every route (GET, list, the track; create and cancel on a stack of its own that runs no job, since they change
jobs).

Every response must be documented (status, content type, headers) and match its schema, and none may be a 500.
Cases are schemathesis's own (positive and negative data, e.g. malformed ids, unicode, extra or missing headers),
plus positive cases aimed at the demo organization and its jobs so that the handler's 200/404/400 paths are hit,
not only the gateway's 401/403. Most carry the demo key; the rest another user's key, a revoked or unknown key,
the random X-API-Key value schemathesis generated, or none. Hypothesis runs derandomized: the same cases every run.
"""

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from music_local.launcher import ROOT, LaunchedApi, launched
from tests.helpers.seed import ALICE_KEY, ALICE_REVOKED_KEY, BOB_KEY, DAVE_KEY, JOBS, ORG, UNKNOWN_KEY

# The code under test runs in the local API's process, which coverage does not measure: tracing this one would
# measure schemathesis, at a third more CPU (pytest-cov stops its tracer during the call).
pytestmark = pytest.mark.no_cover

SPEC = ROOT / "docs" / "openapi.yaml"
PATH = "/v1/music/{organization_id}/generations/{job_id}"
EXAMPLES = 1100  # one request each
MINIMUM_REQUESTS = 1000
TIME_BUDGET_SECONDS = 240
# Cancel changes jobs: fuzzed on the stack of its own, with fewer cases (the path and its checks are GET's).
CANCEL_EXAMPLES = 300
CANCEL_MINIMUM_REQUESTS = 250
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

SCHEMA = schemathesis.openapi.from_path(SPEC)
OPERATION = SCHEMA[PATH]["GET"]
ENGINES_PATH = "/v1/music/{organization_id}/engines"
ENGINES = SCHEMA[ENGINES_PATH]["GET"]
CREATE_PATH = "/v1/music/{organization_id}/generations"
CREATE = SCHEMA[CREATE_PATH]["POST"]  # bodies included: schemathesis builds them from CreateGenerationBody
CANCEL = SCHEMA[f"{PATH}/cancel"]["POST"]
LIST = SCHEMA["/v1/music/{organization_id}/generations"]["GET"]
LIST_EXAMPLES = 300
DEMO_JOB_IDS = sorted(job["id"] for job in JOBS)
TRACK_PATH = "/v1/music/{organization_id}/tracks/{track_id}"
TRACK = SCHEMA[TRACK_PATH]["GET"]
TRACK_EXAMPLES = 300
DEMO_TRACK_IDS = sorted(job["track"]["id"] for job in JOBS if job.get("track"))
GENERATED = "generated"  # send whatever X-API-Key schemathesis generated (random garbage, empty, or none)
# Weighted by repetition: the demo key most of the time.
KEYS: list[str | None] = [*[ALICE_KEY] * 12, BOB_KEY, DAVE_KEY, ALICE_REVOKED_KEY, UNKNOWN_KEY, GENERATED, None]


def cases(operation: Any) -> st.SearchStrategy[Any]:
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
        operation.as_strategy(GenerationMode.POSITIVE, path_parameters={"organization_id": ORG}),
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters={"organization_id": ORG}),
    ]
    for name, demo_ids in (("job_id", DEMO_JOB_IDS), ("track_id", DEMO_TRACK_IDS)):
        if f"{{{name}}}" in operation.path:
            demo_paths = [{"organization_id": ORG, name: demo_id} for demo_id in demo_ids]
            strategies.append(
                st.sampled_from(demo_paths).flatmap(
                    lambda path: operation.as_strategy(GenerationMode.POSITIVE, path_parameters=path)
                )
            )
    return st.one_of(strategies)


# GET's cases, with the engine listing and create (bodies included: schemathesis builds them from
# CreateGenerationBody) mixed in on the same stack.
GET_ENGINES_AND_CREATE = st.one_of(
    cases(OPERATION),
    ENGINES.as_strategy(GenerationMode.NEGATIVE),
    ENGINES.as_strategy(GenerationMode.POSITIVE, path_parameters={"organization_id": ORG}),
    CREATE.as_strategy(GenerationMode.NEGATIVE, path_parameters={"organization_id": ORG}),
    CREATE.as_strategy(GenerationMode.POSITIVE, path_parameters={"organization_id": ORG}),
)


def with_key(case: Any, key: str | None) -> None:
    if key == GENERATED:
        return
    headers = {name: value for name, value in (case.headers or {}).items() if name.lower() != "x-api-key"}
    if key is not None:
        headers["X-API-Key"] = key
    case.headers = headers


@pytest.fixture(scope="module")
def fuzzed_api() -> Iterator[LaunchedApi]:
    """A stack of its own, for the creates and cancels: the jobs they make are the API's answers to check, not
    audio to render (the shared stack's workers would spend minutes of CPU on them while other tests wait)."""
    with launched("--no-generation") as api:
        yield api
    assert api.exit_code == 0


def test_generated_requests_get_documented_answers_and_no_500(fuzzed_api: LaunchedApi) -> None:
    answered = fuzz(fuzzed_api.url, GET_ENGINES_AND_CREATE, EXAMPLES, MINIMUM_REQUESTS)
    # The mix reached the handler's answers, not only the gateway's.
    assert {200, 400, 401, 403, 404} <= {status for _, status in answered}, answered
    assert answered[ENGINES_PATH, 200] > 0, answered
    # Bodies reached the create function: refused by its field checks (400) and by the catalogue's rules (422).
    assert answered[CREATE_PATH, 400] > 0, answered
    assert answered[CREATE_PATH, 422] > 0, answered


def test_generated_lists_get_documented_answers_and_no_500(local_api: LaunchedApi) -> None:
    answered = fuzz(local_api.url, cases(LIST), LIST_EXAMPLES, CANCEL_MINIMUM_REQUESTS)
    assert {200, 400, 401, 403} <= {status for _, status in answered}, answered


def test_generated_track_requests_get_documented_answers_and_no_500(local_api: LaunchedApi) -> None:
    answered = fuzz(local_api.url, cases(TRACK), TRACK_EXAMPLES, CANCEL_MINIMUM_REQUESTS)
    # Alice's own demo track (200), Bob's and Carol's (404 for her), malformed ids (400), the gateway's 401/403.
    assert {200, 400, 401, 403, 404} <= {status for _, status in answered}, answered


def test_generated_cancels_get_documented_answers_and_no_500(fuzzed_api: LaunchedApi) -> None:
    answered = fuzz(fuzzed_api.url, cases(CANCEL), CANCEL_EXAMPLES, CANCEL_MINIMUM_REQUESTS)
    assert {200, 400, 401, 403, 404} <= {status for _, status in answered}, answered


def fuzz(base_url: str, strategy: Any, examples: int, minimum_requests: int) -> Counter[tuple[str, int]]:
    """Send ``examples`` generated requests from ``strategy``; every answer documented, none a 500. Returns how
    often each documented path answered each status."""
    statuses: Counter[int] = Counter()
    answered: Counter[tuple[str, int]] = Counter()  # (documented path, status)
    failures: list[str] = []
    deadline = time.monotonic() + TIME_BUDGET_SECONDS

    with requests.Session() as session:

        @settings(
            max_examples=examples,
            derandomize=True,  # the same cases every run
            database=None,  # nothing written to .hypothesis/
            deadline=None,
            phases=[Phase.explicit, Phase.generate],  # failures are collected below, not shrunk
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
        )
        @given(case=strategy, key=st.sampled_from(KEYS))
        def probe(case: Any, key: str | None) -> None:
            if time.monotonic() > deadline:
                return
            with_key(case, key)
            response = case.call(base_url=base_url, session=session, timeout=30, allow_redirects=False)
            statuses[response.status_code] += 1
            answered[case.operation.path, response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as group:
                failures.append(str(group))

        probe()

    total = sum(statuses.values())
    assert not failures, f"{len(failures)} of {total} responses break docs/openapi.yaml:\n\n" + "\n".join(failures[:5])
    assert statuses[500] == 0, statuses
    assert total >= minimum_requests, f"only {total} requests within {TIME_BUDGET_SECONDS}s: {statuses}"
    return answered
