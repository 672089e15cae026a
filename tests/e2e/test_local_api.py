"""End to end over HTTP: client -> local API Gateway -> authorizer -> handler -> moto -> presigned download."""

import json
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from music_local import mp3
from music_local.launcher import ROOT, LaunchedApi, start_process
from tests.helpers.contract import spec_example, without_request_specifics
from tests.helpers.http import request_json
from tests.helpers.seed import ALICE_KEY, BOB_KEY, DAVE_KEY, ORG, OTHER_ORG, SEED_JOB_ID, SEED_TRACK_ID

AUDIO = ROOT / "local" / "audio" / "late-night-study.mp3"
TTL_SECONDS = 600


def call(
    api: LaunchedApi, path: str, key: str | None = ALICE_KEY, method: str = "GET"
) -> tuple[int, dict[str, str], Any]:
    return request_json(api.url, path, key, method)


def job_path(organization_id: str, job_id: str) -> str:
    return f"/v1/music/{organization_id}/generations/{job_id}"


def test_the_banner_shows_the_demo_key_and_a_ready_curl(local_api: LaunchedApi) -> None:
    banner = "".join(local_api.output)

    assert f"demo key: {ALICE_KEY}" in banner
    assert f"export FREDDY_API_KEY={ALICE_KEY}" in banner
    assert f'curl "{local_api.url}{job_path(ORG, SEED_JOB_ID)}" -H "X-API-Key: $FREDDY_API_KEY"' in banner


def test_the_banners_generate_command_makes_a_new_track(local_api: LaunchedApi, tmp_path: Path) -> None:
    """The README's first run: ``make run``, then the one ``generate`` line its banner prints, as printed."""
    lines = "".join(local_api.output).splitlines()
    exports = dict(
        assignment.split("=", 1) for assignment in next(line for line in lines if "export " in line).split()[1:]
    )
    generate = shlex.split(next(line for line in lines if "freddy-music generate" in line))

    assert generate[0] == ".venv/bin/freddy-music"
    finished = subprocess.run(  # noqa: S603 - the banner's own command line, against loopback
        [sys.executable, "-m", "freddy_music", *generate[1:]],
        env={"PATH": "/usr/bin:/bin", **exports},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert (finished.returncode, finished.stderr) == (0, ""), finished.stdout
    assert " succeeded 100%" in finished.stdout
    assert mp3.duration_seconds((tmp_path / "new-track.mp3").read_bytes()) == pytest.approx(30, abs=0.5)


def test_the_banners_submit_command_adds_a_job_the_simulator_runs(local_api: LaunchedApi) -> None:
    """The README's "Submit a job while the stack runs": the line the banner prints, as printed, against the
    running stack; the local stack's own command, since only its simulator runs such a job."""
    words = shlex.split(next(line for line in "".join(local_api.output).splitlines() if "music_local.submit" in line))
    credentials = dict(word.split("=", 1) for word in words[:2])

    assert words[2:5] == [".venv/bin/python", "-m", "music_local.submit"]
    finished = subprocess.run(  # noqa: S603 - the banner's own command line, against loopback
        [sys.executable, *words[3:], "--title", "Night Drive", "--seconds", "1"],
        env={"PATH": "/usr/bin:/bin", **credentials},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    seen = []
    deadline = time.monotonic() + 20  # a bound on waiting, far above the 2 s the job takes
    while time.monotonic() < deadline:
        _, _, job = call(local_api, job_path(ORG, finished.stdout.strip()))
        seen.append(job["status"])
        if job["status"] not in {"queued", "running"}:
            break
        time.sleep(0.2)

    assert (job["status"], job["track"]["title"]) == ("succeeded", "Night Drive"), seen


def test_the_seed_job_comes_back_in_the_contracts_shape(local_api: LaunchedApi) -> None:
    example = spec_example("200 OK:")

    status, headers, body = call(local_api, job_path(ORG, SEED_JOB_ID))

    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Request-Id"] == f"req_{headers['x-amzn-RequestId']}"
    assert [key for key in body if key != "playback_url_expires_at"] == list(example)
    for field in example:
        if field not in {"playback_url", "track"}:
            assert body[field] == example[field], field
    assert {k: v for k, v in body["track"].items() if k != "playback_url"} == {
        k: v for k, v in example["track"].items() if k != "playback_url"
    }


def test_the_playback_url_is_sigv4_and_downloads_the_mp3(local_api: LaunchedApi) -> None:
    _, _, body = call(local_api, job_path(ORG, SEED_JOB_ID))
    url = body["playback_url"]

    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert 0 < int(query["X-Amz-Expires"][0]) <= TTL_SECONDS
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - signed_at) < timedelta(minutes=1)
    assert query["X-Amz-SignedHeaders"] == ["host"]
    assert len(query["X-Amz-Signature"][0]) == 64
    with urllib.request.urlopen(url, timeout=30) as download:  # noqa: S310 - the emulator on loopback
        assert download.headers["Content-Type"] == "audio/mpeg"
        assert download.read() == AUDIO.read_bytes()


def test_a_missing_key_is_the_contracts_401(local_api: LaunchedApi) -> None:
    example = spec_example("401 Unauthorized:")

    status, headers, body = call(local_api, job_path(ORG, SEED_JOB_ID), key=None)

    assert status == 401
    assert without_request_specifics(body) == without_request_specifics(example)
    assert body["error"]["trace_id"] == f"req_{headers['X-Request-Id']}"
    assert headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("key", ["", "frd_test_notakey", ALICE_KEY[:-1] + "0"])
def test_a_bad_key_is_401(local_api: LaunchedApi, key: str) -> None:
    status, _, body = call(local_api, job_path(ORG, SEED_JOB_ID), key=key)

    assert status == 401
    assert body["error"]["code"] == "AUTHENTICATION_REQUIRED"


def test_another_organization_is_403(local_api: LaunchedApi) -> None:
    status, _, body = call(local_api, job_path(OTHER_ORG, "mgen_carol00001"))

    assert status == 403
    assert body["error"]["code"] == "ORGANIZATION_ACCESS_DENIED"
    assert body["success"] is False


def test_a_user_without_organizations_is_403_everywhere(local_api: LaunchedApi) -> None:
    assert call(local_api, job_path(ORG, SEED_JOB_ID), key=DAVE_KEY)[0] == 403


def test_another_users_job_is_the_same_404_as_a_missing_job(local_api: LaunchedApi) -> None:
    other_status, other_headers, other = call(local_api, job_path(ORG, "mgen_bobjob00001"))
    missing_status, missing_headers, missing = call(local_api, job_path(ORG, "mgen_neverexisted1"))

    assert other_status == missing_status == 404
    assert other["error"]["details"] == {"job_id": "mgen_bobjob00001"}
    missing["error"]["details"] = {"job_id": "mgen_bobjob00001"}
    assert without_request_specifics(other) == without_request_specifics(missing)
    assert other_headers.keys() == missing_headers.keys()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/music/org_abc123/tracks"),
        ("POST", "/v1/music/org_abc123/tracks/mtrack_7c1a9e2f4b8d"),
        ("PUT", "/v1/music/org_abc123/generations"),
        ("GET", f"{job_path(ORG, SEED_JOB_ID)}/cancel"),
        ("GET", "/"),
        ("POST", job_path(ORG, SEED_JOB_ID)),
        ("DELETE", job_path(ORG, SEED_JOB_ID)),
    ],
)
def test_an_unknown_route_is_a_404_envelope(local_api: LaunchedApi, method: str, path: str) -> None:
    status, _, body = call(local_api, path, method=method)

    assert status == 404
    assert body["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert body["error"]["system_message"] == "Route not found"


def test_a_bad_fixture_file_stops_start_up_naming_the_entry(tmp_path: Path) -> None:
    fixtures = json.loads((ROOT / "local" / "demo.json").read_text())
    fixtures["memberships"][1]["user_id"] = "usr_ghost99"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(fixtures))

    process = start_process("--port", "0", "--fixtures", str(bad))
    output, _ = process.communicate(timeout=60)

    assert process.returncode == 2
    assert "nothing was loaded" in output
    assert "memberships[1]: unknown user usr_ghost99" in output
    assert "Music generations API (local) on" not in output


def test_make_invoke_replays_an_event_without_docker() -> None:
    """The Docker-free twin of ``sam local invoke -e``, with nothing from this test's environment."""
    completed = subprocess.run(  # noqa: S603 - our own module
        [
            str(Path(__file__).parents[2] / ".venv" / "bin" / "python"),
            "-m",
            "music_local.invoke",
            "events/get_generation_succeeded.json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )

    assert completed.returncode == 0, completed.stderr
    result = json.loads(
        completed.stdout[completed.stdout.index("\n{\n") + 1 :]
        if not completed.stdout.startswith("{\n")
        else completed.stdout
    )
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["track"]["title"] == "Late Night Study"


def test_the_engine_catalogue_is_served_from_the_template_to_members_only(local_api: LaunchedApi) -> None:
    status, headers, body = call(local_api, f"/v1/music/{ORG}/engines")
    refused, _, refusal = call(local_api, f"/v1/music/{OTHER_ORG}/engines")

    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert [engine["key"] for engine in body["engines"]] == ["sketch", "studio"]
    assert (refused, refusal["error"]["code"]) == (403, "ORGANIZATION_ACCESS_DENIED")


def create(api: LaunchedApi, body: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
    """POST /generations as Alice: status, Location and the job."""
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{api.url}/v1/music/{ORG}/generations",
        data=json.dumps(body).encode(),
        headers={"X-API-Key": ALICE_KEY, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        return response.status, response.headers["Location"], json.loads(response.read())


def test_a_job_created_through_the_gateway_is_read_back_through_it(local_api: LaunchedApi) -> None:
    status, location, created = create(
        local_api, {"engine": "sketch", "prompt": "A bright jingle", "duration_seconds": 20}
    )

    _, _, read = call(local_api, f"/v1/music/{ORG}/{location}")

    assert (status, created["status"]) == (202, "queued")
    assert read["id"] == created["id"]
    assert read["engine"] == "sketch"


def test_the_seed_jobs_track_is_served_from_the_template_with_a_playable_master_and_stems(
    local_api: LaunchedApi,
) -> None:
    _, _, job = call(local_api, job_path(ORG, SEED_JOB_ID))
    status, headers, track = call(local_api, f"/v1/music/{ORG}/tracks/{job['result_track_id']}")

    assert (status, headers["Cache-Control"], track["id"]) == (200, "no-store", SEED_TRACK_ID)
    assert sorted(track["stem_urls"]) == ["drums", "vocals"]
    for url in (track["playback_url"], *track["stem_urls"].values()):
        with urllib.request.urlopen(url, timeout=30) as download:  # noqa: S310 - the emulator on loopback
            assert (download.headers["Content-Type"], download.read()) == ("audio/mpeg", AUDIO.read_bytes())


def test_another_users_track_is_the_same_404_as_a_missing_track(local_api: LaunchedApi) -> None:
    path = f"/v1/music/{ORG}/tracks/{SEED_TRACK_ID}"
    others_status, _, others = request_json(local_api.url, path, BOB_KEY)
    missing_status, _, missing = call(local_api, f"/v1/music/{ORG}/tracks/mtrack_neverexisted1")

    assert others_status == missing_status == 404
    missing["error"]["details"] = {"track_id": SEED_TRACK_ID}
    assert without_request_specifics(others) == without_request_specifics(missing)


def test_a_created_job_succeeds_through_the_queue_and_its_url_plays_an_mp3_of_its_length(
    local_api: LaunchedApi,
) -> None:
    """``make run``'s promise: POST, poll, and the playback URL plays about the requested length (bounded wait)."""
    _, _, created = create(local_api, {"engine": "studio", "prompt": "Rain on a tin roof", "duration_seconds": 25})
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        _, _, job = call(local_api, job_path(ORG, created["id"]))
        seen.append(job["status"])
        if job["status"] not in {"queued", "running"}:
            break
        time.sleep(0.5)

    assert job["status"] == "succeeded", seen
    assert "running" in seen
    with urllib.request.urlopen(job["playback_url"], timeout=30) as download:  # noqa: S310 - the moto server
        audio = download.read()
    assert abs(mp3.duration_seconds(audio) - 25) < 0.1
    assert job["track"]["measured_duration_seconds"] == pytest.approx(mp3.duration_seconds(audio), abs=0.001)
