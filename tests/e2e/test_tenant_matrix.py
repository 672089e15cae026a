"""Tenant isolation (OWASP API1, BOLA/IDOR) through the local API: every caller against every job, on every route.

Two organizations x two users x a job in every status (tests/data/tenants.json). Whatever the path, a caller
only ever sees their own jobs and tracks; another caller's job or track reads exactly like one that does not
exist, and seeding a generation with it is refused exactly like seeding with a missing one. Cancel runs on
a stack of its own, with create (both change jobs, and the list matrix expects exactly the fixture's): another
caller's job answers like a missing one and stays as it was.
"""

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from music_local.fixtures import read_fixtures
from music_local.launcher import ROOT, launched
from tests.helpers.contract import without_request_specifics
from tests.helpers.http import assert_no_secrets_logged, request_json
from tests.helpers.jobs import without_signed_urls

TENANTS = ROOT / "tests" / "data" / "tenants.json"
FIXTURES = read_fixtures(TENANTS).content
KEYS = {key.user_id: key.key for key in FIXTURES.api_keys}
MEMBER_OF = {m.user_id: m.organization_id for m in FIXTURES.memberships}
JOBS = FIXTURES.generations
NEVER_EXISTED = "mgen_neverexisted00"
TRACKS = [(job.track.id, job) for job in JOBS if job.track is not None]
TRACK_NEVER_EXISTED = "mtrack_neverexisted00"


@pytest.fixture(scope="module")
def tenant_api() -> Iterator[str]:
    with launched("--fixtures", str(TENANTS), "--log-level", "DEBUG") as api:
        yield api.url
    assert_no_secrets_logged(api.output, TENANTS)


@pytest.fixture(scope="module")
def changing_api() -> Iterator[str]:
    # No created job runs (--no-generation): these tests read what create and cancel answer, and rendering each
    # accepted create's audio cost this stack most of its CPU.
    with launched("--fixtures", str(TENANTS), "--log-level", "DEBUG", "--no-generation") as api:
        yield api.url
    assert_no_secrets_logged(api.output, TENANTS)


def get(base: str, path: str, user: str, method: str = "GET") -> tuple[int, dict[str, Any]]:
    status, _, body = request_json(base, path, KEYS[user], method)
    return status, body


def assert_not_leaking(status: int, body: dict[str, Any], caller: str) -> None:
    """The invariant of every cell: a 200 is the caller's own job; anything else is a bare envelope."""
    if status == 200:
        owned = {job.id for job in JOBS if job.user_id == caller}
        assert body["id"] in owned
    else:
        assert body["success"] is False
        assert set(body) == {"success", "error"}
        assert "track" not in json.dumps(body["error"]["details"])


CELLS = [
    (caller, job.id, organization)
    for caller in KEYS
    for job in JOBS
    for organization in sorted({job.organization_id, MEMBER_OF[caller]})
]


@pytest.mark.parametrize(("caller", "job_id", "organization_id"), CELLS)
def test_every_caller_against_every_job_in_every_organization(
    tenant_api: str, caller: str, job_id: str, organization_id: str
) -> None:
    job = next(j for j in JOBS if j.id == job_id)
    status, body = get(tenant_api, f"/v1/music/{organization_id}/generations/{job_id}", caller)

    assert_not_leaking(status, body, caller)
    if organization_id != MEMBER_OF[caller]:
        assert status == 403
    elif job.user_id == caller:
        assert status == 200
        assert body["status"] == job.status
    else:
        _, missing = get(tenant_api, f"/v1/music/{organization_id}/generations/{NEVER_EXISTED}", caller)
        missing["error"]["details"]["job_id"] = job_id
        assert status == 404
        assert without_request_specifics(body) == without_request_specifics(missing)


def _own_succeeded_job(caller: str) -> str:
    return next(j.id for j in JOBS if j.user_id == caller and j.status == "succeeded")


VARIANTS: dict[str, Callable[[str], str]] = {
    "upper-case prefix": lambda job: job.replace("mgen_", "MGEN_"),
    "percent-encoded slash": lambda job: job[:8] + "%2F" + job[8:],
    "dot-dot": lambda job: "..",
    "dot-dot after id": lambda job: f"{job}/..",
    "trailing slash": lambda job: f"{job}/",
    "cyrillic look-alike": lambda job: job[:-1] + "%D0%B0",
    "fullwidth digit": lambda job: job[:-1] + "%EF%BC%91",
    "very long": lambda job: job + "a" * 5000,
    "empty": lambda job: "",
    "null byte": lambda job: job + "%00",
    "space": lambda job: job + "%20",
}


@pytest.mark.parametrize("caller", sorted(KEYS))
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_malformed_ids_never_reach_anyones_data(tenant_api: str, caller: str, variant: str) -> None:
    job_id = VARIANTS[variant](_own_succeeded_job(caller))
    status, body = get(tenant_api, f"/v1/music/{MEMBER_OF[caller]}/generations/{job_id}", caller)

    assert status in {400, 404}
    assert_not_leaking(status, body, caller)


@pytest.mark.parametrize("caller", sorted(KEYS))
@pytest.mark.parametrize(
    "organization",
    ["ORG_TENANTA1", "org_tenanta1%2F..%2Forg_tenantb2", "org_ten%61nta1", "", "..", "org_*"],
)
def test_malformed_organizations_never_reach_anyones_data(tenant_api: str, caller: str, organization: str) -> None:
    status, body = get(tenant_api, f"/v1/music/{organization}/generations/{_own_succeeded_job(caller)}", caller)

    assert status in {400, 403, 404}
    assert_not_leaking(status, body, caller)


@pytest.mark.parametrize("caller", sorted(KEYS))
@pytest.mark.parametrize("organization_id", sorted(set(MEMBER_OF.values())))
def test_the_engine_catalogue_is_listed_to_members_only(tenant_api: str, caller: str, organization_id: str) -> None:
    status, body = get(tenant_api, f"/v1/music/{organization_id}/engines", caller)

    if organization_id == MEMBER_OF[caller]:
        assert status == 200
        assert [engine["key"] for engine in body["engines"]] == ["studio"]  # tenants.json's catalogue
    else:
        assert status == 403
        assert body["error"]["code"] == "ORGANIZATION_ACCESS_DENIED"


def create(
    base: str, organization_id: str, user: str, idempotency_key: str | None = None, **fields: str
) -> tuple[int, dict[str, Any]]:
    """POST a generation; a 429 of the key's create budget (the usage plan's) is waited out as Retry-After says."""
    headers = {"X-API-Key": KEYS[user], "Content-Type": "application/json"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    for _ in range(CREATE_ATTEMPTS):
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{base}/v1/music/{organization_id}/generations",
            data=json.dumps({"engine": "studio", "prompt": "Tenant test", "duration_seconds": 10, **fields}).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code != 429:
                return error.code, json.loads(error.read())
            time.sleep(int(error.headers["Retry-After"]))
    raise AssertionError(f"still rate limited after {CREATE_ATTEMPTS} attempts")


CREATE_ATTEMPTS = 10


@pytest.mark.parametrize("creator", sorted(KEYS))
def test_a_created_job_is_seen_by_its_creator_only_and_other_organizations_are_refused(
    changing_api: str, creator: str
) -> None:
    for organization_id in sorted(set(MEMBER_OF.values()) - {MEMBER_OF[creator]}):
        status, body = create(changing_api, organization_id, creator)
        assert (status, body["error"]["code"]) == (403, "ORGANIZATION_ACCESS_DENIED")
    status, job = create(changing_api, MEMBER_OF[creator], creator)
    assert status == 202

    for caller in KEYS:
        for organization_id in sorted({MEMBER_OF[creator], MEMBER_OF[caller]}):
            seen, body = get(changing_api, f"/v1/music/{organization_id}/generations/{job['id']}", caller)
            if caller == creator:
                assert (seen, body["id"]) == (200, job["id"])
            else:
                assert seen == (403 if organization_id != MEMBER_OF[caller] else 404)
                assert_not_leaking(seen, body, caller)


def test_one_idempotency_key_used_by_every_caller_gives_each_their_own_job(changing_api: str) -> None:
    """A key is the caller's own (organization + user): another caller's use of it never answers the first
    caller's job, and each caller's repeat answers their own."""
    key = "shared-key-tenant-matrix"
    created = {}
    for caller in sorted(KEYS):
        status, job = create(changing_api, MEMBER_OF[caller], caller, key)
        assert status == 202
        created[caller] = job["id"]

    assert len(set(created.values())) == len(KEYS)
    for caller in sorted(KEYS):
        status, again = create(changing_api, MEMBER_OF[caller], caller, key)
        assert (status, again["id"]) == (202, created[caller])
        for other, job_id in created.items():
            if other != caller:
                seen, body = get(changing_api, f"/v1/music/{MEMBER_OF[caller]}/generations/{job_id}", caller)
                assert seen == 404
                assert_not_leaking(seen, body, caller)


# What a cancel by the owner leaves: a queued job cancelled at once, a running one flagged (still running), a
# terminal one as it was.
AFTER_OWN_CANCEL: dict[str | None, str] = {"queued": "cancelled", "running": "running"}


@pytest.mark.parametrize(("caller", "job_id", "organization_id"), CELLS)
def test_every_caller_cancelling_every_job_in_every_organization(
    changing_api: str, caller: str, job_id: str, organization_id: str
) -> None:
    job = next(j for j in JOBS if j.id == job_id)
    owner_path = f"/v1/music/{job.organization_id}/generations/{job_id}"
    _, before = get(changing_api, owner_path, job.user_id)

    status, body = get(changing_api, f"/v1/music/{organization_id}/generations/{job_id}/cancel", caller, "POST")

    assert_not_leaking(status, body, caller)
    if organization_id != MEMBER_OF[caller]:
        assert status == 403
    elif job.user_id == caller:
        assert status == 200
        assert body["status"] == AFTER_OWN_CANCEL.get(job.status, job.status)
        return
    else:
        _, missing = get(
            changing_api, f"/v1/music/{organization_id}/generations/{NEVER_EXISTED}/cancel", caller, "POST"
        )
        missing["error"]["details"]["job_id"] = job_id
        assert status == 404
        assert without_request_specifics(body) == without_request_specifics(missing)
    _, after = get(changing_api, owner_path, job.user_id)
    assert without_signed_urls(after) == without_signed_urls(before)


STATUSES = ["queued", "running", "succeeded", "failed", "cancelled", "refused"]
LIST_CELLS = [
    (caller, organization, status)
    for caller in KEYS
    for organization in sorted({job.organization_id for job in JOBS})
    for status in [None, *STATUSES]
]


@pytest.mark.parametrize(("caller", "organization_id", "status"), LIST_CELLS)
def test_every_caller_listing_every_organization_sees_only_their_own_jobs(
    tenant_api: str, caller: str, organization_id: str, status: str | None
) -> None:
    query = "?limit=100" + (f"&status={status}" if status else "")
    code, body = get(tenant_api, f"/v1/music/{organization_id}/generations{query}", caller)

    if organization_id != MEMBER_OF[caller]:
        assert code == 403
        assert set(body) == {"success", "error"}
        return
    own = [job for job in JOBS if job.user_id == caller and job.organization_id == organization_id]
    assert code == 200
    assert sorted(job["id"] for job in body["jobs"]) == sorted(
        job.id for job in own if status is None or job.status == status
    )


TRACK_CELLS = [
    (caller, track_id, organization)
    for caller in KEYS
    for track_id, job in TRACKS
    for organization in sorted({job.organization_id, MEMBER_OF[caller]})
]


@pytest.mark.parametrize(("caller", "track_id", "organization_id"), TRACK_CELLS)
def test_every_caller_against_every_track_in_every_organization(
    tenant_api: str, caller: str, track_id: str, organization_id: str
) -> None:
    job = next(job for track, job in TRACKS if track == track_id)
    status, body = get(tenant_api, f"/v1/music/{organization_id}/tracks/{track_id}", caller)

    if status == 200:
        assert (job.user_id, body["id"]) == (caller, track_id)
    else:
        assert set(body) == {"success", "error"}
    if organization_id != MEMBER_OF[caller]:
        assert status == 403
    elif job.user_id == caller:
        assert status == 200
        assert body["playback_url"].startswith(tenant_api.rsplit(":", 1)[0])
    else:
        _, missing = get(tenant_api, f"/v1/music/{organization_id}/tracks/{TRACK_NEVER_EXISTED}", caller)
        missing["error"]["details"]["track_id"] = track_id
        assert status == 404
        assert without_request_specifics(body) == without_request_specifics(missing)


@pytest.mark.parametrize("caller", sorted(KEYS))
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_malformed_track_ids_never_reach_anyones_track(tenant_api: str, caller: str, variant: str) -> None:
    own = next(track for track, job in TRACKS if job.user_id == caller)
    track_id = VARIANTS[variant](own.replace("mtrack_", "mgen_")).replace("mgen_", "mtrack_")
    status, body = get(tenant_api, f"/v1/music/{MEMBER_OF[caller]}/tracks/{track_id}", caller)

    assert status in {400, 404}
    assert set(body) == {"success", "error"}


@pytest.mark.parametrize(("caller", "track_id", "organization_id"), TRACK_CELLS)
def test_every_caller_seeding_a_generation_with_every_track(
    changing_api: str, caller: str, track_id: str, organization_id: str
) -> None:
    job = next(job for track, job in TRACKS if track == track_id)

    status, body = create(changing_api, organization_id, caller, seed_track_id=track_id)

    if organization_id != MEMBER_OF[caller]:
        assert (status, body["error"]["code"]) == (403, "ORGANIZATION_ACCESS_DENIED")
    elif job.user_id == caller:
        assert (status, body["status"]) == (202, "queued")
    else:
        _, missing = create(changing_api, organization_id, caller, seed_track_id=TRACK_NEVER_EXISTED)
        assert status == 422
        assert body["error"]["details"] == {"field": "seed_track_id", "reason": missing["error"]["details"]["reason"]}
        assert without_request_specifics(body) == without_request_specifics(missing)
