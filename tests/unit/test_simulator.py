"""A simulated job's timeline: where its clock says it should be, second by second."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from music_local.simulator import Outcome, Simulation
from tests.helpers.jobs import a_track

Q, R = 1.0, 4.0


def simulation(outcome: Outcome, queued: float = Q, running: float = R) -> Simulation:
    return Simulation(
        queued_seconds=queued,
        running_seconds=running,
        outcome=outcome,
        since=1_000_000,
        track=a_track() if outcome == "succeeded" else None,
        error_message="It broke." if outcome == "failed" else None,
        refusal_reason="Not that." if outcome == "refused" else None,
    )


@pytest.mark.parametrize(
    ("outcome", "timeline"),
    [
        (
            "succeeded",
            [
                (0, "queued", 0),
                (0.99, "queued", 0),
                (1, "running", 1),
                (3, "running", 50),
                (4.99, "running", 98),
                (5, "succeeded", 0),
                (60, "succeeded", 0),
            ],
        ),
        ("failed", [(0.5, "queued", 0), (2, "running", 25), (5, "failed", 0)]),
        ("cancelled", [(0.5, "queued", 0), (2.99, "running", 49), (3, "cancelled", 0), (5, "cancelled", 0)]),
        ("refused", [(0.99, "queued", 0), (1, "refused", 0), (9, "refused", 0)]),
    ],
)
def test_the_clock_says_where_the_job_should_be(outcome: Outcome, timeline: list[tuple[float, str, int]]) -> None:
    plan = simulation(outcome)

    assert [(elapsed, *plan.target(elapsed)) for elapsed, _, _ in timeline] == timeline


@settings(max_examples=200, derandomize=True, database=None)
@given(
    running=st.floats(4, 3600),
    outcome=st.sampled_from(["succeeded", "failed"]),
    first_poll=st.floats(0, 0.5, exclude_max=True),
)
def test_polled_every_half_second_a_run_of_4_s_or_more_shows_rising_progress(
    running: float, outcome: Outcome, first_poll: float
) -> None:
    plan = simulation(outcome, running=running)
    polls = [first_poll + 0.5 * n for n in range(int((Q + running) / 0.5) + 2)]

    seen = [progress for status, progress in map(plan.target, polls) if status == "running"]

    assert seen == sorted(seen)
    assert len(set(seen)) >= 3
    assert set(seen) <= set(range(1, 100))


@pytest.mark.parametrize(
    ("outcome", "missing"),
    [("succeeded", "track"), ("failed", "error_message"), ("refused", "refusal_reason")],
)
def test_an_outcome_without_what_it_needs_is_refused(outcome: Outcome, missing: str) -> None:
    values = simulation(outcome).model_dump() | {missing: None}

    with pytest.raises(ValueError, match=f"outcome {outcome} needs {missing}"):
        Simulation.model_validate(values)
