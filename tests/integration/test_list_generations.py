"""The list through the real list function against the moto server, over the 250 jobs of tests/data/paging.json:
newest first, pages that tile the whole list, the status filter, the bounds and their 400s, and never another
user's or organization's job."""

import json
from typing import Any

import pytest

from list_generations.app import lambda_handler
from music_api.jobs.writer import NewJob
from music_local.emulator import LocalAws
from music_local.fixtures import read_fixtures
from music_local.gateway import LambdaContext
from music_local.launcher import ROOT
from tests.helpers.events import load_event
from tests.helpers.jobs import job_ref, job_writer, stored_item
from tests.helpers.world import DYNAMODB_LOCAL

PAGING = read_fixtures(ROOT / "tests" / "data" / "paging.json")
ORG = "org_pages01"
PAGER, OTHER = "usr_pager01", "usr_other01"
PAGERS_JOBS = sorted(
    (job for job in PAGING.jobs if job["user_id"] == PAGER),
    key=lambda job: (job["created_at"], job["id"]),
    reverse=True,
)
STATUSES = ["queued", "running", "succeeded", "failed", "cancelled", "refused"]
# The list function runs under its own role (setup writes through the administrator's clients).
pytestmark = [pytest.mark.runs_as("ListGenerationsFunction"), pytest.mark.dynamodb(DYNAMODB_LOCAL)]


@pytest.fixture
def paging(aws: LocalAws) -> LocalAws:
    aws.put_jobs(PAGING.jobs)
    return aws


def list_page(
    query: dict[str, str] | None = None, *, user: str = PAGER, organization: str = ORG, orgs: str = ORG
) -> tuple[int, dict[str, Any]]:
    event = load_event("list_generations.json")
    event["pathParameters"] = {"organization_id": organization}
    event["multiValueQueryStringParameters"] = {name: [value] for name, value in (query or {}).items()} or None
    event["queryStringParameters"] = query or None
    event["requestContext"]["authorizer"].update(user_id=user, principalId=user, organization_ids=orgs)
    response = lambda_handler(event, LambdaContext(function_name="music-generations-ListGenerationsFunction"))
    return response["statusCode"], json.loads(response["body"])


def ids(body: dict[str, Any]) -> list[str]:
    return [job["id"] for job in body["jobs"]]


def test_the_fixture_holds_250_jobs_of_one_user() -> None:
    assert len(PAGERS_JOBS) == 250


def test_the_default_page_is_the_50_newest_without_urls(paging: LocalAws) -> None:
    status, body = list_page()

    assert status == 200
    assert (body["limit"], body["offset"]) == (50, 0)
    assert ids(body) == [job["id"] for job in PAGERS_JOBS[:50]]
    assert {(job["playback_url"], job["playback_url_expires_at"], job["track"]) for job in body["jobs"]} == {
        (None, None, None)
    }
    succeeded = next(job for job in body["jobs"] if job["status"] == "succeeded")
    assert succeeded["result_track_id"] is not None


@pytest.mark.parametrize("limit", [1, 7, 50, 100])
def test_pages_tile_the_whole_list_newest_first(paging: LocalAws, limit: int) -> None:
    seen: list[str] = []
    offset = 0
    while True:
        status, body = list_page({"limit": str(limit), "offset": str(offset)})
        assert status == 200
        seen += ids(body)
        if len(body["jobs"]) < limit:
            break
        offset += limit
        if offset > 1000:
            pytest.fail("the list did not end")

    assert seen == [job["id"] for job in PAGERS_JOBS]


@pytest.mark.parametrize("job_status", STATUSES)
def test_the_status_filter_lists_only_that_status_newest_first(paging: LocalAws, job_status: str) -> None:
    status, body = list_page({"status": job_status, "limit": "100"})

    expected = [job["id"] for job in PAGERS_JOBS if job["status"] == job_status]
    assert status == 200
    assert ids(body) == expected[:100]
    assert len(expected) >= 41


def test_a_job_moves_between_status_lists_as_the_writer_moves_it(aws: LocalAws) -> None:
    ref = job_ref("mgen_listmoves001", organization_id=ORG, user_id=PAGER)
    writer = job_writer(aws)
    writer.create(NewJob(ref, "studio", "creation"))
    queued = ids(list_page({"status": "queued"})[1])
    writer.start(ref)
    writer.request_cancel(ref)

    assert queued == [ref.job_id]
    assert ids(list_page({"status": "queued"})[1]) == []
    assert ids(list_page({"status": "running"})[1]) == [ref.job_id]
    item = stored_item(aws, ref)
    assert item is not None
    assert item["status_pk"] == f"ORG#{ORG}#USER#{PAGER}#STATUS#running"


def test_never_another_users_or_organizations_jobs(paging: LocalAws) -> None:
    status, other = list_page({"limit": "100"}, user=OTHER)
    _, elsewhere = list_page(organization="org_abc123", orgs="org_abc123")  # a member there, with no jobs there

    assert status == 200
    assert ids(other) == [f"mgen_other{number:04d}" for number in range(5, 0, -1)]
    assert ids(elsewhere) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "1e2"}, "limit"),
        ({"limit": "\uff15"}, "limit"),  # a fullwidth digit five
        ({"offset": "1001"}, "offset"),
        ({"offset": "-5"}, "offset"),
        ({"offset": "99999999999999999999"}, "offset"),
        ({"status": "done"}, "status"),
        ({"status": "SUCCEEDED"}, "status"),
        ({"page": "2"}, "query"),
    ],
)
def test_bad_parameters_get_a_clear_400(paging: LocalAws, query: dict[str, str], field: str) -> None:
    status, body = list_page(query)

    assert status == 400
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["details"]["field"] == field


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param({"limit": "0000050"}, "limit", id="limit-50-in-seven-digits"),
        pytest.param({"offset": "0000000"}, "offset", id="offset-0-in-seven-digits"),
        # Past int()'s 4,300-digit limit a bare int() raises: still the caller's 400, never a 500.
        pytest.param({"offset": "9" * 5000}, "offset", id="offset-of-5000-digits"),
        pytest.param({"limit": "0" * 5000 + "1"}, "limit", id="limit-1-in-5001-digits"),
        pytest.param({"status": ""}, "status", id="empty-status"),
    ],
)
def test_text_is_bounded_before_it_is_read_as_a_number_and_an_empty_status_is_named(
    paging: LocalAws, query: dict[str, str], field: str
) -> None:
    """A number is at most six digits, whatever its value; ``?status=`` is not "no filter" but a bad status."""
    status, body = list_page(query)

    assert (status, body["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert body["error"]["details"]["field"] == field


def test_the_largest_offset_is_answered(paging: LocalAws) -> None:
    status, body = list_page({"offset": "1000"})

    assert (status, body["jobs"], body["offset"]) == (200, [], 1000)


def test_a_repeated_parameter_is_refused(paging: LocalAws) -> None:
    event = load_event("list_generations.json")
    event["multiValueQueryStringParameters"] = {"limit": ["5", "10"]}
    event["queryStringParameters"] = {"limit": "10"}
    response = lambda_handler(event, LambdaContext(function_name="music-generations-ListGenerationsFunction"))

    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["details"]["field"] == "limit"


def test_an_organization_not_the_callers_is_403(paging: LocalAws) -> None:
    status, body = list_page(organization="org_other99", orgs=ORG)

    assert (status, body["error"]["code"]) == (403, "ORGANIZATION_ACCESS_DENIED")
