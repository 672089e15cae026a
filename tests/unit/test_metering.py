"""Quota periods as the local gateway counts them: calendar periods in UTC, weeks from Sunday."""

from datetime import UTC, datetime

import pytest

from music_local.metering import period_start

THURSDAY_AFTERNOON = datetime(2026, 7, 2, 15, 30, 12, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("period", "start"),
    [
        ("DAY", datetime(2026, 7, 2, tzinfo=UTC)),
        ("WEEK", datetime(2026, 6, 28, tzinfo=UTC)),  # the Sunday before
        ("MONTH", datetime(2026, 7, 1, tzinfo=UTC)),
    ],
)
def test_a_period_starts_at_its_calendar_boundary_in_utc(period: str, start: datetime) -> None:
    assert period_start(period, THURSDAY_AFTERNOON) == start
    assert period_start(period, start.timestamp()) == start
    assert period_start(period, start.timestamp() - 1) < start


def test_a_sunday_starts_its_own_week() -> None:
    sunday = datetime(2026, 6, 28, 0, 0, 1, tzinfo=UTC).timestamp()

    assert period_start("WEEK", sunday) == datetime(2026, 6, 28, tzinfo=UTC)


def test_an_unknown_period_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown quota period 'YEAR'"):
        period_start("YEAR", THURSDAY_AFTERNOON)
