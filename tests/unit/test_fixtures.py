"""Fixture files are checked whole; every problem names its entry; the demo file and its MP3 are sound."""

import json
from pathlib import Path
from typing import Any

import pytest

from music_api.authorizer.keys import parse_key
from music_local.fixtures import DEMO_FIXTURES, FixtureError, read_fixtures
from music_local.stack import start_stack
from music_local.template import default_template, local_template

DEMO: dict[str, Any] = json.loads(DEMO_FIXTURES.read_text())
MP3 = DEMO_FIXTURES.parent / "audio" / "late-night-study.mp3"
# The demo and every fixture file of the tests (tests/data/*.json).
FIXTURE_FILES = [DEMO_FIXTURES, *sorted((DEMO_FIXTURES.parents[1] / "tests" / "data").glob("*.json"))]


def write(tmp_path: Path, content: dict[str, Any] | str) -> Path:
    path = tmp_path / "fixtures.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    (tmp_path / "audio").mkdir(exist_ok=True)
    (tmp_path / "audio" / "late-night-study.mp3").write_bytes(MP3.read_bytes())
    return path


def problems_of(tmp_path: Path, content: dict[str, Any] | str) -> str:
    with pytest.raises(FixtureError) as raised:
        read_fixtures(write(tmp_path, content))
    return str(raised.value)


def changed(path: list[Any], value: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json.dumps(DEMO))
    node = document
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return document


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda path: path.name)
def test_every_fixture_key_is_a_test_key_on_a_plan_of_the_template(path: Path) -> None:
    """The local stack is a test stage with the template's usage plans: each file the tests load fits it."""
    fixtures = read_fixtures(path)

    assert {parse_key(api_key.key).environment for api_key in fixtures.content.api_keys} == {"test"}  # type: ignore[union-attr]
    assert {api_key.plan for api_key in fixtures.content.api_keys} <= {
        plan.name for plan in local_template().usage_plans()
    }


def test_the_demo_file_has_a_job_in_every_status_and_tenants_to_try_idor() -> None:
    fixtures = read_fixtures(DEMO_FIXTURES)

    statuses = {job["status"] for job in fixtures.jobs}
    assert statuses == {"queued", "running", "succeeded", "failed", "cancelled", "refused"}
    owners = {(job["organization_id"], job["user_id"]) for job in fixtures.jobs}
    assert {("org_abc123", "usr_alice01"), ("org_abc123", "usr_bob02"), ("org_xyz789", "usr_carol03")} <= owners
    seed = next(job for job in fixtures.jobs if job["id"] == "mgen_2f8b1c4e9a7d")
    assert seed["track"]["title"] == "Late Night Study"
    assert seed["track"]["measured_duration_seconds"] == 119.4
    assert seed["track"]["licence_class"] == "personal_only"
    assert fixtures.demo_request() == (
        "frd_test_ecyWJFrOeyePLimY7BxcQhWzSkVOa32StzqY",
        "org_abc123",
        "mgen_2f8b1c4e9a7d",
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ((["memberships", 1, "user_id"], "usr_ghost99"), "memberships[1]: unknown user usr_ghost99"),
        ((["memberships", 0, "organization_id"], "org_nowhere"), "memberships[0]: unknown organization org_nowhere"),
        ((["api_keys", 2, "key"], "frd_live_notavalidkey"), "api_keys[2]: key is not a valid API key"),
        ((["api_keys", 0, "user_id"], "usr_ghost99"), "api_keys[0]: unknown user usr_ghost99"),
        (
            (["api_keys", 2, "key"], "frd_live_ggbTVPjOV7i8Ge9QwRl0dzmN3NQQQB3IjGHt"),
            "api_keys[2]: a frd_live_ key; the local stack accepts frd_test_ keys only",
        ),
        (
            (["api_keys", 1, "plan"], "gold"),
            "api_keys[1]: unknown plan 'gold' (template.yaml has internal, standard, trial)",
        ),
        ((["generations", 3, "status"], "paused"), "generations[3] (mgen_failed00001).status"),
        (
            (["generations", 0, "track", "audio_file"], "audio/missing.mp3"),
            "generations[0] (mgen_2f8b1c4e9a7d): track.audio_file 'audio/missing.mp3' does not exist",
        ),
        (
            (["generations", 0, "track"], None),
            "generations[0] (mgen_2f8b1c4e9a7d): job: Value error, a succeeded job must carry its track",
        ),
        (
            (["generations", 6, "organization_id"], "org_xyz789"),
            "generations[6] (mgen_bobjob00001): usr_bob02 is not a member of org_xyz789",
        ),
        ((["generations", 1, "progress"], 101), "generations[1] (mgen_queued0001): progress"),
        ((["users", 0, "id"], "alice"), "users[0] (alice).id"),
        ((["organizations", 1], {"id": "org_abc123"}), "organizations: org_abc123 appears 2 times"),
        (
            (["generations", 0, "colour"], "blue"),
            "generations[0] (mgen_2f8b1c4e9a7d).colour: Extra inputs are not permitted",
        ),
        (
            (["generations", 1, "status"], None),
            "generations[1] (mgen_queued0001): status: Field required (unless the job is simulated)",
        ),
        # simulated jobs (generations[8] to [11]): the plan, and what each outcome needs
        (
            (["generations", 8, "simulate", "queued_seconds"], -1),
            "generations[8] (mgen_simsucceed01).simulate.queued_seconds: Input should be greater than or equal to 0",
        ),
        (
            (["generations", 9, "simulate", "running_seconds"], 0),
            "generations[9] (mgen_simfailed001).simulate.running_seconds: Input should be greater than 0",
        ),
        (
            (["generations", 9, "simulate", "running_seconds"], 3601),
            "generations[9] (mgen_simfailed001).simulate.running_seconds: Input should be less than or equal to 3600",
        ),
        (
            (["generations", 9, "simulate", "queued_seconds"], "soon"),
            "generations[9] (mgen_simfailed001).simulate.queued_seconds: Input should be a valid number",
        ),
        (
            (["generations", 10, "simulate", "outcome"], "paused"),
            "generations[10] (mgen_simcancel001).simulate.outcome: Input should be 'succeeded', 'failed', "
            "'cancelled' or 'refused'",
        ),
        (
            (["generations", 10, "simulate", "speed"], 2),
            "generations[10] (mgen_simcancel001).simulate.speed: Extra inputs are not permitted",
        ),
        (
            (["generations", 10, "simulate"], {"queued_seconds": 1, "outcome": "cancelled"}),
            "generations[10] (mgen_simcancel001).simulate.running_seconds: Field required",
        ),
        (
            (["generations", 8, "track"], None),
            "generations[8] (mgen_simsucceed01): job: Value error, a succeeded job must carry its track",
        ),
        (
            (["generations", 9, "error_message"], None),
            "generations[9] (mgen_simfailed001): simulate: Value error, outcome failed needs error_message",
        ),
        (
            (["generations", 11, "refusal_reason"], None),
            "generations[11] (mgen_simrefused01): simulate: Value error, outcome refused needs refusal_reason",
        ),
    ],
)
def test_every_problem_names_its_entry(tmp_path: Path, change: tuple[list[Any], Any], message: str) -> None:
    assert message in problems_of(tmp_path, changed(*change))


def test_a_simulated_job_is_loaded_as_a_plan_whatever_status_its_entry_gives(tmp_path: Path) -> None:
    document = changed(["generations", 8, "status"], "failed")
    document["generations"][8]["progress"] = 77

    fixtures = read_fixtures(write(tmp_path, document))

    assert "mgen_simsucceed01" not in {job["id"] for job in fixtures.jobs}
    simulated = {job.ref.job_id: (job, simulation) for job, simulation in fixtures.simulated}
    assert sorted(simulated) == ["mgen_simcancel001", "mgen_simfailed001", "mgen_simrefused01", "mgen_simsucceed01"]
    job, simulation = simulated["mgen_simsucceed01"]
    assert (job.ref.organization_id, job.ref.user_id, job.engine, job.mode) == (
        "org_abc123",
        "usr_alice01",
        "studio",
        "creation",
    )
    assert (simulation.queued_seconds, simulation.running_seconds, simulation.outcome) == (5, 20, "succeeded")
    assert simulation.track is not None
    assert simulation.track.title == "Simulated Sunrise"
    assert simulation.track.audio_key == "audio/org_abc123/mtrack_simsunrise01.mp3"
    assert fixtures.audio[simulation.track.audio_key][0] == MP3.read_bytes()
    assert simulated["mgen_simfailed001"][1].error_message == DEMO["generations"][9]["error_message"]
    assert simulated["mgen_simrefused01"][1].refusal_reason == DEMO["generations"][11]["refusal_reason"]
    assert fixtures.simulated_request() == (
        "frd_test_ecyWJFrOeyePLimY7BxcQhWzSkVOa32StzqY",
        "org_abc123",
        "mgen_simsucceed01",
    )


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    document = changed(["memberships", 1, "user_id"], "usr_ghost99")
    document["api_keys"][0]["user_id"] = "usr_ghost98"

    report = problems_of(tmp_path, document)

    assert "usr_ghost99" in report
    assert "usr_ghost98" in report


def test_invalid_json_says_where(tmp_path: Path) -> None:
    assert "not valid JSON (line 2" in problems_of(tmp_path, '{\n  "users": [,]\n}')


def test_a_bad_file_stops_the_stack_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(FixtureError):
        start_stack(write(tmp_path, changed(["memberships", 1, "user_id"], "usr_ghost99")))


def test_the_demo_mp3_is_a_real_mpeg_audio_file_of_the_tracks_length() -> None:
    """Walks the MPEG-2 Layer III frames: sync word, bitrate and sample rate from each header."""
    data = MP3.read_bytes()
    assert len(data) < 300 * 1024
    position = 10 + int.from_bytes(data[6:10], "big") if data.startswith(b"ID3") else 0
    frames = 0
    while position + 4 <= len(data):
        header = int.from_bytes(data[position : position + 4], "big")
        assert header >> 21 == 0x7FF, f"lost frame sync at byte {position}"
        version, layer = (header >> 19) & 0b11, (header >> 17) & 0b11
        assert (version, layer) == (0b10, 0b01)  # MPEG-2, Layer III
        bitrate_kbps = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160][(header >> 12) & 0xF]
        sample_rate = [22050, 24000, 16000][(header >> 10) & 0b11]
        padding = (header >> 9) & 1
        position += 72 * bitrate_kbps * 1000 // sample_rate + padding
        frames += 1
    duration = frames * 576 / 16000
    assert duration == pytest.approx(119.4, abs=0.5)


def test_a_key_without_a_plan_gets_the_templates_default_plan() -> None:
    keys = {key.key: key.plan for key in read_fixtures(DEMO_FIXTURES).content.api_keys}

    assert keys["frd_test_ecyWJFrOeyePLimY7BxcQhWzSkVOa32StzqY"] == "internal"  # named in the file
    assert set(keys.values()) == {"internal", default_template().default_usage_plan()}
