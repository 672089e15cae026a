"""The generation simulator against the moto server: the demo's simulated jobs and jobs submitted with
the local stack's submit command run their course through the job writer, read back through the GET handler.

The simulator's clock is set by the tests (ticks at chosen seconds after the jobs were loaded or submitted); one
test runs its thread on the real clock."""

import time
from decimal import Decimal

import pytest

from music_api.jobs.writer import JobRef
from music_local.emulator import LocalAws
from music_local.simulator import DEMO_AUDIO, Simulator, submission, submit
from music_local.submit import main
from tests.helpers.jobs import client_view, job_ref, job_writer, stored_item
from tests.helpers.seed import ALICE, DEMO, ORG

SUCCEEDS, FAILS, CANCELS, REFUSES = (job_ref(job.ref.job_id) for job, _ in DEMO.simulated)
DEMO_MP3 = DEMO_AUDIO.read_bytes()


class SettableClock:
    """Seconds since a job's ``since``, as the test says."""

    def __init__(self) -> None:
        self.since = 0.0
        self.elapsed = 0.0

    def __call__(self) -> float:
        return self.since + self.elapsed


@pytest.fixture
def clock(aws: LocalAws) -> SettableClock:
    clock = SettableClock()
    clock.since = since_of(aws, SUCCEEDS)
    return clock


@pytest.fixture
def simulator(aws: LocalAws, clock: SettableClock) -> Simulator:
    return Simulator(aws, audio=DEMO_MP3, clock=clock)


def since_of(aws: LocalAws, ref: JobRef) -> float:
    item = stored_item(aws, ref)
    assert item is not None
    since: Decimal = item["request"]["simulate"]["since"]
    return float(since)


def statuses(*refs: JobRef) -> list[tuple[str, int]]:
    return [(view.body["status"], view.body["progress"]) for view in map(client_view, refs)]


def tick_at(simulator: Simulator, clock: SettableClock, elapsed: float) -> None:
    clock.elapsed = elapsed
    simulator.tick()


def test_the_demos_simulated_jobs_run_their_course(
    aws: LocalAws, simulator: Simulator, clock: SettableClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """Q and R from local/demo.json: succeeds 5+20, fails 3+12, cancelled 3+30 (at 18), refused at 4."""
    timeline = {}
    for elapsed in (0, 4.5, 10, 16, 19, 26):
        tick_at(simulator, clock, elapsed)
        timeline[elapsed] = statuses(SUCCEEDS, FAILS, CANCELS, REFUSES)

    assert timeline == {
        0: [("queued", 0), ("queued", 0), ("queued", 0), ("queued", 0)],
        4.5: [("queued", 0), ("running", 13), ("running", 5), ("refused", 0)],
        10: [("running", 25), ("running", 58), ("running", 23), ("refused", 0)],
        16: [("running", 54), ("failed", 58), ("running", 43), ("refused", 0)],
        19: [("running", 69), ("failed", 58), ("cancelled", 43), ("refused", 0)],
        26: [("succeeded", 100), ("failed", 58), ("cancelled", 43), ("refused", 0)],
    }
    succeeded = client_view(SUCCEEDS).body
    assert succeeded["track"]["title"] == "Simulated Sunrise"
    assert succeeded["result_track_id"] == "mtrack_simsunrise01"
    assert client_view(FAILS).body["error_message"] == "The engine could not finish this track. Please retry."
    assert client_view(REFUSES).body["refusal_reason"] == "The prompt asks to imitate a living artist's voice."
    assert "simulator: mgen_simsucceed01 running -> succeeded" in capsys.readouterr().out


def test_a_late_tick_still_walks_every_job_through_each_step(
    aws: LocalAws, simulator: Simulator, clock: SettableClock
) -> None:
    tick_at(simulator, clock, 600)

    assert statuses(SUCCEEDS, FAILS, CANCELS, REFUSES) == [
        ("succeeded", 100),
        ("failed", 0),
        ("cancelled", 0),
        ("refused", 0),
    ]
    versions = [
        item["version"] for item in (stored_item(aws, ref) for ref in (SUCCEEDS, FAILS, CANCELS, REFUSES)) if item
    ]
    assert versions == [3, 3, 3, 2]  # created, started, finished; refused straight from the queue


def test_a_repeated_tick_writes_nothing(aws: LocalAws, simulator: Simulator, clock: SettableClock) -> None:
    tick_at(simulator, clock, 10)
    before = [stored_item(aws, ref) for ref in (SUCCEEDS, FAILS, CANCELS, REFUSES)]

    tick_at(simulator, clock, 10)

    assert [stored_item(aws, ref) for ref in (SUCCEEDS, FAILS, CANCELS, REFUSES)] == before


def test_jobs_it_did_not_write_or_that_others_finished_are_left_alone(
    aws: LocalAws, simulator: Simulator, clock: SettableClock
) -> None:
    tick_at(simulator, clock, 6)
    job_writer(aws).cancel(SUCCEEDS)  # a user cancelled it while it ran
    queued_fixture = job_ref("mgen_queued0001")  # a fixture snapshot, not simulated

    tick_at(simulator, clock, 600)

    assert statuses(SUCCEEDS, queued_fixture) == [("cancelled", 5), ("queued", 0)]


def test_a_job_submitted_with_the_submit_command_succeeds_with_the_demo_mp3(
    aws: LocalAws, simulator: Simulator, clock: SettableClock, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--org", ORG, "--user", ALICE, "--title", "Night Drive", "--seconds", "2"])
    out, err = capsys.readouterr()
    ref = job_ref(out.strip())
    clock.since = since_of(aws, ref)

    assert code == 0
    assert f"submitted {ref.job_id} for {ALICE} in {ORG}: queued 1 s, running 2 s, then succeeded" in err
    assert statuses(ref) == [("queued", 0)]
    tick_at(simulator, clock, 2)
    assert statuses(ref) == [("running", 50)]
    tick_at(simulator, clock, 3)
    view = client_view(ref)
    assert (view.body["status"], view.body["track"]["title"]) == ("succeeded", "Night Drive")
    assert view.body["track"]["measured_duration_seconds"] == 119.4
    item = stored_item(aws, ref)
    assert item is not None
    audio = aws.s3.get_object(Bucket=aws.bucket, Key=item["track"]["audio_key"])
    assert audio["Body"].read() == DEMO_MP3
    assert audio["ContentType"] == "audio/mpeg"


@pytest.mark.parametrize(
    "ending",
    [
        ("failed", "error_message", "The simulated engine could not finish this track. Please retry."),
        ("cancelled", "error_message", None),
        ("refused", "refusal_reason", "The simulated engine refused this request."),
    ],
)
def test_a_job_submitted_with_the_submit_command_ends_as_asked(
    aws: LocalAws,
    simulator: Simulator,
    clock: SettableClock,
    capsys: pytest.CaptureFixture[str],
    ending: tuple[str, str, str | None],
) -> None:
    outcome, field, value = ending
    main(["--jobs-table", aws.jobs_table, "--org", ORG, "--user", ALICE, "--outcome", outcome])
    ref = job_ref(capsys.readouterr().out.strip())
    clock.since = since_of(aws, ref)

    tick_at(simulator, clock, 12)  # past the default 1 s queued and 10 s running

    body = client_view(ref).body
    assert (body["status"], body[field], body["track"]) == (outcome, value, None)


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (["--seconds", "0"], "argument --seconds: must be a number of seconds above 0, at most 3600"),
        (["--seconds", "soon"], "argument --seconds: must be a number of seconds"),
        (["--outcome", "paused"], "argument --outcome: invalid choice: 'paused'"),
        (["--title", ""], "argument --title: must be 1 to 300 characters"),
    ],
)
def test_a_bad_submission_is_a_usage_error_and_writes_nothing(
    aws: LocalAws, capsys: pytest.CaptureFixture[str], arguments: list[str], problem: str
) -> None:
    before = aws.dynamodb.scan(TableName=aws.jobs_table)["Count"]

    with pytest.raises(SystemExit) as exited:
        main(["--org", ORG, "--user", ALICE, *arguments])

    assert exited.value.code == 2
    assert problem in capsys.readouterr().err
    assert aws.dynamodb.scan(TableName=aws.jobs_table)["Count"] == before


def test_without_a_jobs_table_it_says_where_to_name_one(
    aws: LocalAws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JOBS_TABLE_NAME")

    with pytest.raises(SystemExit):
        main(["--org", ORG, "--user", ALICE])

    assert "no jobs table: pass --jobs-table (make run's banner prints it) or set JOBS_TABLE_NAME" in (
        capsys.readouterr().err
    )


def test_without_an_emulator_it_refuses_for_only_the_local_stack_runs_simulated_jobs(
    aws: LocalAws, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    before = aws.dynamodb.scan(TableName=aws.jobs_table)["Count"]

    with pytest.raises(SystemExit) as exited:
        main(["--org", ORG, "--user", ALICE])

    assert exited.value.code == 2
    assert "no emulator: pass --endpoint-url" in capsys.readouterr().err
    assert aws.dynamodb.scan(TableName=aws.jobs_table)["Count"] == before


def test_the_thread_runs_jobs_on_the_real_clock_and_stops_when_told(aws: LocalAws) -> None:
    ref = job_ref("mgen_realclock01")
    job, simulation = submission(ref, title="Quick One", outcome="succeeded", running_seconds=0.5)
    submit(job_writer(aws), job, simulation.model_copy(update={"queued_seconds": 0.2}))
    simulator = Simulator(aws, audio=DEMO_MP3, interval=0.05)

    simulator.start()
    deadline = time.monotonic() + 30  # a bound on waiting, far above the 0.7 s the job takes
    while statuses(ref)[0][0] != "succeeded" and time.monotonic() < deadline:
        time.sleep(0.05)
    simulator.stop()

    assert statuses(ref) == [("succeeded", 100)]
    assert not simulator.running
