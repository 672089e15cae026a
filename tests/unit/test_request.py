"""Reading the request: identity first, then path format, then membership."""

from collections.abc import Callable
from typing import Any

import pytest

from music_api.core.caller import Caller
from music_api.core.caller import job_path as parse_request
from music_api.core.errors import (
    AuthenticationRequiredError,
    OrganizationAccessDeniedError,
    RequestValidationError,
)
from music_api.core.events import trace_id_of
from music_api.core.ids import JOB_ID_RULE, ORGANIZATION_ID_RULE
from music_api.routes.create_generation import parse_request as parse_create_request
from music_api.routes.list_generations import parse_request as parse_list_request


def event(
    organization_id: object = "org_abc123",
    job_id: object = "mgen_2f8b1c4e9a7d",
    authorizer: object = None,
) -> dict[str, Any]:
    if authorizer is None:
        authorizer = {"user_id": "usr_alice01", "organization_ids": "org_abc123,org_xyz789"}
    return {
        "pathParameters": {"organization_id": organization_id, "job_id": job_id},
        "requestContext": {"requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "authorizer": authorizer},
    }


def test_a_well_formed_request_is_read_with_the_callers_identity() -> None:
    request = parse_request(event())

    assert request.organization_id == "org_abc123"
    assert request.job_id == "mgen_2f8b1c4e9a7d"
    assert request.caller == Caller("usr_alice01", frozenset({"org_abc123", "org_xyz789"}))


@pytest.mark.parametrize(
    "authorizer",
    [
        {},
        {"organization_ids": "org_abc123"},
        {"user_id": "usr_alice01"},
        {"user_id": "", "organization_ids": "org_abc123"},
        {"user_id": "alice", "organization_ids": "org_abc123"},
        {"user_id": ["usr_alice01"], "organization_ids": "org_abc123"},
        "usr_alice01",
    ],
)
def test_no_usable_identity_is_401(authorizer: object) -> None:
    with pytest.raises(AuthenticationRequiredError):
        parse_request(event(authorizer=authorizer))


def test_an_event_without_request_context_is_401() -> None:
    with pytest.raises(AuthenticationRequiredError):
        parse_request({"pathParameters": {"organization_id": "org_abc123", "job_id": "mgen_2f8b1c4e9a7d"}})


@pytest.mark.parametrize(
    "job_id",
    [
        "2f8b1c4e9a7d",
        "MGEN_2f8b1c4e9a7d",
        "mgen_",
        "mgen_short",
        "mgen_" + "a" * 65,
        "mgen_2f8b1c4e9a7d\n",
        "mgen_2f8b1c4e-9a7d",
        "mgen_2f8b1c4e9a7d/../x",
        "mgen_2f8b1c4e9a7\u0501",  # Cyrillic look-alike of 'd'
        "mgen_\uff12f8b1c4e9a7d",  # fullwidth digit two
        "",
        None,
        42,
    ],
)
def test_a_malformed_job_id_is_400_naming_the_field(job_id: object) -> None:
    with pytest.raises(RequestValidationError) as raised:
        parse_request(event(job_id=job_id))

    reason = JOB_ID_RULE if isinstance(job_id, str) and job_id else "is required"
    assert raised.value.details == {"field": "job_id", "reason": reason}
    assert raised.value.system_message == "Invalid path parameter: job_id"


@pytest.mark.parametrize("organization_id", ["abc123", "org_", "org_a", "ORG_abc123", "org_abc*", "org_abc123 ", ""])
def test_a_malformed_organization_id_is_400_and_checked_before_the_job_id(organization_id: str) -> None:
    with pytest.raises(RequestValidationError) as raised:
        parse_request(event(organization_id=organization_id, job_id="not-a-job"))

    reason = ORGANIZATION_ID_RULE if organization_id else "is required"
    assert raised.value.details == {"field": "organization_id", "reason": reason}


@pytest.mark.parametrize("parse", [parse_list_request, parse_create_request], ids=["list", "create"])
@pytest.mark.parametrize("organization_id", ["abc123", "org_", "ORG_abc123", "org_abc*", "org_abc123 ", "org_abc 123"])
def test_list_and_create_answer_a_malformed_organization_id_with_400_not_403(
    parse: Callable[[dict[str, Any]], object], organization_id: str
) -> None:
    """A malformed id is the caller's mistake (400 naming it), not an organization they may not see (403)."""
    with pytest.raises(RequestValidationError) as raised:
        parse(event(organization_id=organization_id))

    assert raised.value.details == {"field": "organization_id", "reason": ORGANIZATION_ID_RULE}


def test_list_reads_an_organization_the_caller_is_in() -> None:
    assert parse_list_request(event(organization_id="org_xyz789")).organization_id == "org_xyz789"


@pytest.mark.parametrize("parse", [parse_list_request, parse_create_request], ids=["list", "create"])
def test_list_and_create_refuse_an_organization_the_caller_is_not_in(parse: Callable[[dict[str, Any]], object]) -> None:
    with pytest.raises(OrganizationAccessDeniedError):
        parse(event(organization_id="org_other99"))


@pytest.mark.parametrize(
    ("parse", "path", "field"),
    [
        (parse_request, {"organization_id": "", "job_id": "mgen_2f8b1c4e9a7d"}, "organization_id"),
        (parse_request, {"organization_id": "org_abc123", "job_id": ""}, "job_id"),
        (parse_list_request, {"organization_id": ""}, "organization_id"),
        (parse_create_request, {"organization_id": ""}, "organization_id"),
    ],
    ids=["get-organization", "get-job", "list-organization", "create-organization"],
)
def test_an_empty_path_parameter_is_reported_as_missing(
    parse: Callable[[dict[str, Any]], object], path: dict[str, str], field: str
) -> None:
    """An empty segment is no value at all: "is required", as for an absent one, not a format rule."""
    empty = event() | {"pathParameters": path}

    with pytest.raises(RequestValidationError) as raised:
        parse(empty)

    assert raised.value.details == {"field": field, "reason": "is required"}


def test_missing_path_parameters_are_400() -> None:
    without_path = event()
    del without_path["pathParameters"]

    with pytest.raises(RequestValidationError) as raised:
        parse_request(without_path)

    assert raised.value.details == {"field": "organization_id", "reason": "is required"}


def test_an_organization_the_caller_is_not_in_is_403() -> None:
    with pytest.raises(OrganizationAccessDeniedError):
        parse_request(event(organization_id="org_other99"))


def test_malformed_entries_in_the_membership_list_grant_nothing() -> None:
    authorizer = {"user_id": "usr_alice01", "organization_ids": " org_abc123,*,org_xyz789 ,,org_ok1"}

    request = parse_request(event(organization_id="org_ok1", authorizer=authorizer))

    assert request.caller.organization_ids == frozenset({"org_ok1"})
    with pytest.raises(OrganizationAccessDeniedError):
        parse_request(event(organization_id="org_abc123", authorizer=authorizer))


def test_the_trace_id_is_req_plus_the_gateway_request_id() -> None:
    assert trace_id_of(event(), "lambda-request-id") == "req_c6af9ac6-7b61-11e6-9a41-93e8deadbeef"


@pytest.mark.parametrize("request_id", [None, "", "a" * 65, "id with spaces", '"><script>', 7])
def test_an_unusable_gateway_request_id_falls_back_to_the_lambda_request_id(request_id: object) -> None:
    with_bad_id = event()
    with_bad_id["requestContext"]["requestId"] = request_id

    assert trace_id_of(with_bad_id, "9f4c1d2e-lambda") == "req_9f4c1d2e-lambda"
