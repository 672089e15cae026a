"""Property tests of the job lifecycle against moto and against AWS's DynamoDB Local: random sequences of
operations, and writers racing on one job from threads. Every read, of the item as stored and through the real GET
handler, is checked against every read before it:

- the state is legal (what each status implies about progress, track, messages and timestamps);
- status and progress never go backwards, and the version never does;
- a terminal job never changes;
- ``track`` and ``playback_url`` are present exactly when the job has succeeded;
- an operation that was refused, or was a repeat, changed nothing.

``make test`` runs the ``ci`` profile: derandomized (the same cases every run), 30 runs of the state machine (about
650 operations) and 60 races, in about 15 s.
By hand, a longer random search (failing cases are kept in .hypothesis/ and replayed first next time):

    LIFECYCLE_PROFILE=long .venv/bin/pytest tests/integration/test_lifecycle_properties.py
"""

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import boto3
import pytest
from botocore.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from music_api.dispatch.sweeper import STALE_MESSAGE
from music_api.jobs.models import StoredJob, StoredTrack
from music_api.jobs.store import DISPATCH_KEY, RUNNING_KEY
from music_api.jobs.writer import JobRef, JobWrite, JobWriteError, JobWriter, NewJob
from music_local.emulator import REGION, LocalAws
from tests.helpers.jobs import IN_FLIGHT, STATUS_RANK, TERMINAL, ClientView, a_track, client_view, job_ref, stored_item
from tests.helpers.world import DYNAMODB_LOCAL, MOTO

# Both judges: moto, and AWS's own DynamoDB Local.
pytestmark = pytest.mark.dynamodb(MOTO, DYNAMODB_LOCAL)

settings.register_profile(
    "lifecycle-ci",
    max_examples=30,
    stateful_step_count=20,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "lifecycle-long",
    max_examples=400,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = settings.get_profile(f"lifecycle-{os.environ.get('LIFECYCLE_PROFILE', 'ci')}")
RACES = 2 * PROFILE.max_examples  # a race is cheaper than a run of the state machine
WRITERS = 6

ENGINES = ["studio", "sketch"]
MODES = ["creation", "focus"]
TRACKS = [a_track("mtrack_property01", "First Take"), a_track("mtrack_property02", "Second Take")]


def track_id_for(track: StoredTrack, job_id: str) -> str:
    """A track id is one job's alone (it keys the track's own item): each job gets its own id for a sample track."""
    return f"{track.id}x{job_id.removeprefix('mgen_')}"


def succeed(writer: JobWriter, ref: JobRef, track: StoredTrack) -> JobWrite:
    return writer.succeed(ref, track.model_copy(update={"id": track_id_for(track, ref.job_id)}))


MESSAGES = ["The engine could not finish this track.", "The engine timed out."]
REASONS = ["The prompt names a living artist.", "The lyrics are not allowed."]

# What the job lifecycle (docs/data-model.md) specifies, independently of how the writer does it: where each
# operation may start, where it leads, and which stored values make a second delivery of it a repeat.
SOURCES = {
    "start": {"queued"},
    "report_progress": {"running"},
    "succeed": {"running"},
    "fail": {"queued", "running"},
    "cancel": {"queued", "running"},
    "refuse": {"queued"},
    "heartbeat": {"running"},
    "retry_later": {"running"},
    "resume": {"running"},  # and only when retry_pending: expected_outcome
    "fail_stale": {"running"},  # and only with the heartbeat as stored: expected_outcome
}
TARGET = {
    "start": "running",
    "succeed": "succeeded",
    "fail": "failed",
    "cancel": "cancelled",
    "refuse": "refused",
    "fail_stale": "failed",
}
# fail_stale's argument: the heartbeat the sweeper read, the one stored ("current") or an older one.
OLD_HEARTBEAT = "2000-01-01T00:00:00Z"

_job_numbers = count(1)


@dataclass(frozen=True)
class Call:
    """One operation with its argument, as a worker would send it."""

    operation: str
    argument: Any = None

    def apply(self, writer: JobWriter, ref: JobRef) -> JobWrite:
        return _OPERATIONS[self.operation](writer, ref, self.argument)

    def outcome(self, writer: JobWriter, ref: JobRef) -> str:
        """``changed``, ``unchanged`` or the name of the error the writer raised."""
        try:
            return "changed" if self.apply(writer, ref).changed else "unchanged"
        except JobWriteError as error:
            return type(error).__name__


_OPERATIONS: dict[str, Callable[[JobWriter, JobRef, Any], JobWrite]] = {
    "create": lambda writer, ref, engine_and_mode: writer.create(NewJob(ref, *engine_and_mode)),
    "start": lambda writer, ref, _: writer.start(ref),
    "report_progress": JobWriter.report_progress,
    "succeed": succeed,
    "fail": JobWriter.fail,
    "cancel": lambda writer, ref, _: writer.cancel(ref),
    "refuse": JobWriter.refuse,
    "heartbeat": lambda writer, ref, _: writer.heartbeat(ref),
    "retry_later": lambda writer, ref, _: writer.retry_later(ref),
    "resume": lambda writer, ref, _: writer.resume(ref),
    "fail_stale": lambda writer, ref, heartbeat: writer.fail_stale(ref, heartbeat, STALE_MESSAGE),
}


def expected_outcome(call: Call, item: dict[str, Any] | None) -> str:
    if item is None:
        return "changed" if call.operation == "create" else "UnknownJobError"
    if call.operation == "create":
        return "unchanged" if (item["engine"], item["mode"]) == call.argument else "JobConflictError"
    status = item["status"]
    if call.operation == "report_progress" and status == "running":
        return "changed" if call.argument > item["progress"] else "unchanged"
    # resume: only a job waiting for its retry (else another delivery has it); fail_stale: only with the heartbeat
    # as stored (else the worker beat since the sweeper's read, and keeps its job).
    waiting = call.operation != "resume" or bool(item.get("retry_pending"))
    silent = call.operation != "fail_stale" or item.get("heartbeat_at") == call.argument
    if status == "running" and not (waiting and silent):
        return "IllegalTransitionError"
    if status in SOURCES[call.operation]:
        return "changed"
    repeat = status == TARGET.get(call.operation) and _same_values(call, item)
    return "unchanged" if repeat else "IllegalTransitionError"


def _same_values(call: Call, item: dict[str, Any]) -> bool:
    match call.operation:
        case "succeed":
            return bool(item["track"]["id"] == track_id_for(call.argument, item["id"]))
        case "fail":
            return bool(item["error_message"] == call.argument)
        case "fail_stale":
            return bool(item["error_message"] == STALE_MESSAGE)
        case "refuse":
            return bool(item["refusal_reason"] == call.argument)
        case _:
            return True


def unique_job() -> JobRef:
    return job_ref(f"mgen_property{next(_job_numbers):06d}")


# --- invariants ---------------------------------------------------------------------------------------------


def item_problems(item: dict[str, Any]) -> list[str]:
    """What makes a stored item illegal: the reader's model, and what its status implies."""
    problems = []
    try:
        StoredJob.model_validate(item)
    except ValueError as error:
        problems.append(f"the reader calls it corrupt: {error}")
    status, progress = item["status"], item["progress"]
    implied = {
        "queued": progress == 0 and not {"started_at", "finished_at", "track"} & item.keys(),
        "running": 0 <= progress <= 99 and "started_at" in item and not {"finished_at", "track"} & item.keys(),
        "succeeded": progress == 100
        and {"started_at", "finished_at"} <= item.keys()
        and item.get("result_track_id") == item.get("track", {}).get("id"),
        "failed": progress <= 99 and bool(item.get("error_message")) and "finished_at" in item,
        "cancelled": progress <= 99 and "finished_at" in item and "track" not in item,
        "refused": progress == 0 and bool(item.get("refusal_reason")) and "started_at" not in item,
    }
    if not implied.get(status, False):
        problems.append(f"{status} at {progress} with {sorted(item)}")
    if (DISPATCH_KEY in item) != (status == "queued"):  # the dispatch sweeper's index holds exactly the queued jobs
        problems.append(f"{status} job {'in' if DISPATCH_KEY in item else 'not in'} the dispatch index")
    if (RUNNING_KEY in item) != (status == "running"):  # and the index of running jobs exactly the running ones
        problems.append(f"{status} job {'in' if RUNNING_KEY in item else 'not in'} the index of running jobs")
    if ("heartbeat_at" in item) != ("started_at" in item):
        problems.append("a started job without a heartbeat, or a heartbeat without a start")
    if "heartbeat_at" in item and not item["started_at"] <= item["heartbeat_at"] <= item["updated_at"]:
        problems.append(f"heartbeat out of order: {item['started_at']}, {item['heartbeat_at']}, {item['updated_at']}")
    stamps = [item[name] for name in ("created_at", "started_at", "finished_at") if name in item]
    if stamps != sorted(stamps) or item["updated_at"] < stamps[-1] or item["version"] < 1:
        problems.append(f"timestamps or version out of order: {stamps}, {item['updated_at']}, {item['version']}")
    return problems


def view_problems(view: ClientView) -> list[str]:
    """What makes a client's answer illegal: URL and track exactly on success, Retry-After exactly in flight."""
    body = view.body
    if view.status_code != 200:
        return [f"answered {view.status_code}: {body}"]
    succeeded = body["status"] == "succeeded"
    present = {name: body[name] is not None for name in ("track", "playback_url", "playback_url_expires_at")}
    problems = [
        f"{name} present={shown} on a {body['status']} job" for name, shown in present.items() if shown != succeeded
    ]
    if ("Retry-After" in view.headers) != (body["status"] in IN_FLIGHT):
        problems.append(f"Retry-After {view.headers.get('Retry-After')} on a {body['status']} job")
    if succeeded and body["track"]["playback_url"] != body["playback_url"]:
        problems.append("the track's URL is not the job's")
    return problems


@dataclass
class Watcher:
    """Reads one job the two ways, in time order, and checks each read against all the reads before it."""

    aws: LocalAws
    ref: JobRef
    violations: list[str] = field(default_factory=list)
    reads: int = 0
    _floor: tuple[int, int] = (0, 0)  # (status rank, progress) seen so far
    _item: dict[str, Any] | None = None  # the last stored item read
    _terminal: tuple[Any, ...] | None = None  # (status, progress, track id) once finished

    def read_item(self) -> dict[str, Any] | None:
        item = stored_item(self.aws, self.ref)
        self.reads += 1
        if item is None:
            if self._item is not None:
                self.violations.append("the item disappeared")
            return None
        self.violations += item_problems(item)
        previous = self._item
        if previous is not None and item != previous and item["version"] <= previous["version"]:
            self.violations.append(f"changed without a new version: {previous} -> {item}")
        if previous is not None and previous["status"] in TERMINAL and item != previous:
            self.violations.append(f"a {previous['status']} job changed: {previous} -> {item}")
        self._see(item["status"], item["progress"], item.get("result_track_id"))
        self._item = item
        return item

    def read_view(self) -> ClientView:
        view = client_view(self.ref)
        self.reads += 1
        self.violations += view_problems(view)
        if view.status_code == 200:
            self._see(view.body["status"], view.body["progress"], view.body["result_track_id"])
        return view

    def _see(self, status: str, progress: int, track_id: str | None) -> None:
        seen = (STATUS_RANK[status], progress)
        if seen < self._floor or progress < self._floor[1]:
            self.violations.append(f"went backwards to {status} at {progress} from {self._floor}")
        self._floor = max(self._floor, seen)
        if self._terminal is not None and (status, progress, track_id) != self._terminal:
            self.violations.append(f"finished as {self._terminal}, then read as {(status, progress, track_id)}")
        if status in TERMINAL:
            self._terminal = (status, progress, track_id)


# --- random sequences ---------------------------------------------------------------------------------------


OPERATION_CALLS = st.one_of(
    st.just(Call("start")),
    st.builds(Call, st.just("report_progress"), st.integers(0, 99)),
    st.builds(Call, st.just("succeed"), st.sampled_from(TRACKS)),
    st.builds(Call, st.just("fail"), st.sampled_from(MESSAGES)),
    st.just(Call("cancel")),
    st.builds(Call, st.just("refuse"), st.sampled_from(REASONS)),
    st.just(Call("heartbeat")),
    st.just(Call("retry_later")),
    st.just(Call("resume")),
    st.builds(Call, st.just("fail_stale"), st.sampled_from(["current", OLD_HEARTBEAT])),
)
ANY_CALL = st.one_of(
    st.builds(Call, st.just("create"), st.tuples(st.sampled_from(ENGINES), st.sampled_from(MODES))), OPERATION_CALLS
)
# What a worker would plausibly send next, so that random steps also move jobs forward; the rule below mixes in
# arbitrary calls and repeats as often.
LIKELY_NEXT = {
    "queued": st.just(Call("start")),
    "running": st.one_of(
        st.builds(Call, st.just("report_progress"), st.integers(0, 99)),
        st.builds(Call, st.just("succeed"), st.sampled_from(TRACKS)),
    ),
}


class JobLifecycle(RuleBasedStateMachine):
    """One job; any operation with any argument at any time, each outcome predicted from the stored item (the
    documented job lifecycle, ``expected_outcome``) and every read checked (``Watcher``)."""

    def __init__(self, aws: LocalAws, writer: JobWriter) -> None:
        super().__init__()
        self.writer = writer
        self.ref = unique_job()
        self.watcher = Watcher(aws, self.ref)
        self.item: dict[str, Any] | None = None
        self.last: Call | None = None

    def perform(self, call: Call) -> None:
        """Send ``call``; check its outcome against the table and the job as read afterwards."""
        if call == Call("fail_stale", "current"):  # the sweeper read the heartbeat as it is stored now
            call = Call("fail_stale", (self.item or {}).get("heartbeat_at", OLD_HEARTBEAT))
        expected = expected_outcome(call, self.item)
        before = self.item

        outcome = call.outcome(self.writer, self.ref)

        assert outcome == expected, f"{call} on {before}"
        self.item = self.watcher.read_item()
        assert self.item is not None
        view = self.watcher.read_view()
        assert self.watcher.violations == []
        if outcome != "changed":
            assert self.item == before, f"{call} was {outcome} yet changed the job"
        else:
            assert self.item["version"] == (before["version"] + 1 if before else 1)
        assert (view.body["status"], view.body["progress"]) == (self.item["status"], self.item["progress"])
        self.last = call

    @initialize(data=st.data())
    def bring_a_new_job_into_some_status(self, data: st.DataObject) -> None:
        """Every run first takes a new job, by legal steps, into a status drawn uniformly: so that every status,
        and every operation from it, is reached often, not only the statuses a random walk ends in first."""
        target = data.draw(st.sampled_from(sorted(STATUS_RANK)))
        self.perform(Call("create", (data.draw(st.sampled_from(ENGINES)), data.draw(st.sampled_from(MODES)))))
        if target in {"running", "succeeded"} or (target in {"failed", "cancelled"} and data.draw(st.booleans())):
            self.perform(Call("start"))
            for progress in data.draw(st.lists(st.integers(0, 99), max_size=3)):
                self.perform(Call("report_progress", progress))
        finish = {
            "succeeded": st.builds(Call, st.just("succeed"), st.sampled_from(TRACKS)),
            "failed": st.builds(Call, st.just("fail"), st.sampled_from(MESSAGES)),
            "cancelled": st.just(Call("cancel")),
            "refused": st.builds(Call, st.just("refuse"), st.sampled_from(REASONS)),
        }.get(target)
        if finish is not None:
            self.perform(data.draw(finish))

    @rule(data=st.data())
    def send_an_operation(self, data: st.DataObject) -> None:
        assert self.item is not None
        choices = [LIKELY_NEXT.get(self.item["status"], ANY_CALL), ANY_CALL]
        if self.last is not None:
            choices.append(st.just(self.last))  # the queue delivers the same message again
        self.perform(data.draw(st.one_of(choices)))


def test_random_sequences_of_operations_keep_every_invariant(aws: LocalAws) -> None:
    writer = JobWriter(aws.dynamodb, aws.jobs_table)

    class OnThisServer(JobLifecycle):
        def __init__(self) -> None:
            super().__init__(aws, writer)

    run_state_machine_as_test(OnThisServer, settings=PROFILE)


# --- races ------------------------------------------------------------------------------------------------


def _worker_script(progress: list[int], finish: Call) -> list[Call]:
    return [Call("start"), *(Call("report_progress", value) for value in sorted(progress)), finish]


# A worker running the job (the same message may reach several), a user cancelling, a moderator refusing, and
# anything at all.
SCRIPTS = st.one_of(
    st.builds(
        _worker_script,
        st.lists(st.integers(1, 99), max_size=4),
        st.sampled_from([Call("succeed", TRACKS[0]), Call("fail", MESSAGES[0])]),
    ),
    st.just([Call("cancel")]),
    st.just([Call("refuse", REASONS[0])]),
    st.lists(OPERATION_CALLS, min_size=1, max_size=5),
)


@dataclass
class Race:
    """Writers running their scripts on one job at once, while a reader polls it until they are done."""

    aws: LocalAws
    writers: list[JobWriter]
    scripts: list[list[Call]]
    outcomes: list[tuple[Call, str]] = field(default_factory=list)

    def run(self) -> Watcher:
        ref = unique_job()
        self.writers[0].create(NewJob(ref, "studio", "creation"))
        watcher = Watcher(self.aws, ref)
        done = threading.Event()
        barrier = threading.Barrier(len(self.scripts) + 1)

        def write(writer: JobWriter, script: list[Call]) -> None:
            barrier.wait()
            for call in script:
                try:
                    self.outcomes.append((call, call.outcome(writer, ref)))
                except Exception as error:  # noqa: BLE001 - anything but the writer's own refusals is a violation
                    watcher.violations.append(f"{call} raised {error!r}")

        def read() -> None:
            barrier.wait()
            while True:  # at least once while the writers run
                watcher.read_item()
                watcher.read_view()
                if done.is_set():
                    return

        threads = [_thread(write, writer, script) for writer, script in zip(self.writers, self.scripts, strict=False)]
        reader = _thread(read)
        for thread in threads:
            thread.join()
        done.set()
        reader.join()
        final = watcher.read_item()
        watcher.read_view()
        assert final is not None
        watcher.violations += self._accounting_problems(final)
        return watcher

    def _accounting_problems(self, final: dict[str, Any]) -> list[str]:
        """Every change the writers were told about is in the item, once: nothing lost, nothing doubled."""
        changed = [call for call, outcome in self.outcomes if outcome == "changed"]
        problems = [
            f"{call} ended in {outcome}"
            for call, outcome in self.outcomes
            if outcome not in {"changed", "unchanged", "IllegalTransitionError"}
        ]
        if final["version"] != 1 + len(changed):
            problems.append(f"version {final['version']} after {len(changed)} changes")
        finishers = [call for call in changed if TARGET.get(call.operation) in TERMINAL]
        if len(finishers) != (final["status"] in TERMINAL):
            problems.append(f"{final['status']} after finishing writes {finishers}")
        reported = [call.argument for call in changed if call.operation == "report_progress"]
        expected_progress = 100 if final["status"] == "succeeded" else max(reported, default=0)
        if final["progress"] != expected_progress:
            problems.append(f"progress {final['progress']} after reports {reported}")
        return problems


def _thread(target: Callable[..., None], *arguments: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=arguments, daemon=True)
    thread.start()
    return thread


def test_writers_racing_on_one_job_keep_every_invariant(aws: LocalAws) -> None:
    administrator = aws.administrator
    client = boto3.session.Session(
        aws_access_key_id=administrator.access_key_id,
        aws_secret_access_key=administrator.secret_access_key,
        region_name=REGION,
    ).client("dynamodb", endpoint_url=aws.endpoint_of("dynamodb"), config=Config(max_pool_connections=WRITERS + 2))
    writers = [JobWriter(client, aws.jobs_table) for _ in range(WRITERS)]
    races: list[Watcher] = []

    @settings(PROFILE, max_examples=RACES)
    @given(scripts=st.lists(SCRIPTS, min_size=2, max_size=WRITERS))
    def race(scripts: list[list[Call]]) -> None:
        watcher = Race(aws, writers, scripts).run()
        races.append(watcher)
        assert watcher.violations == []

    race()

    assert len(races) >= RACES
