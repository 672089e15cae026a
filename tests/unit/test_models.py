"""The stored-item model rejects corrupt data; the response model renders the contract's formats."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from music_api.core.clock import to_utc_z
from music_api.engines.models import LicenceClass
from music_api.jobs.models import StoredJob, TrackLicenceClass
from music_api.jobs.views import GenerationJob
from tests.helpers.seed import JOBS

SUCCEEDED: dict[str, Any] = JOBS[0]


def test_the_seed_job_is_a_valid_stored_job() -> None:
    job = StoredJob.model_validate(SUCCEEDED)

    assert job.progress == 100
    assert job.track is not None
    assert job.track.measured_duration_seconds == pytest.approx(119.4)
    assert job.created_at == datetime(2026, 6, 28, 10, 30, tzinfo=UTC)


def test_attributes_added_by_writers_are_ignored() -> None:
    job = StoredJob.model_validate({**SUCCEEDED, "ttl": Decimal(1893456000), "prompt": "lofi"})

    assert not hasattr(job, "prompt")


@pytest.mark.parametrize(
    "change",
    [
        {"progress": Decimal("50.5")},
        {"progress": Decimal("-1")},
        {"progress": Decimal("101")},
        {"progress": True},
        {"progress": "50"},
        {"status": "SUCCEEDED"},
        {"mode": "remix"},
        {"created_at": "2026-06-28 10:30"},
        {"created_at": "2026-06-28T10:30:00"},
        {"created_at": Decimal(1782642600)},
        {"id": "mgen_2f8b1c4e9a7d/../other"},
        {"error_message": "x" * 1001},
        {"track": None},
        {"result_track_id": "mtrack_000000000000"},
        {"track": {**SUCCEEDED["track"], "measured_duration_seconds": "119.4"}},
        {"track": {**SUCCEEDED["track"], "measured_duration_seconds": Decimal("Infinity")}},
        {"track": {**SUCCEEDED["track"], "instrumental": 1}},
        {"track": {**SUCCEEDED["track"], "mime_type": "audio/mpeg; charset=x"}},
        {"track": {**SUCCEEDED["track"], "title": ""}},
    ],
)
def test_a_corrupt_item_is_rejected(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        StoredJob.model_validate({**SUCCEEDED, **change})


def test_an_unfinished_job_needs_no_track() -> None:
    job = StoredJob.model_validate(JOBS[1])

    assert job.status == "queued"
    assert job.track is None


def test_created_at_is_rendered_in_utc_with_z_and_whole_seconds() -> None:
    plus_two = timezone(timedelta(hours=2))
    job = GenerationJob(
        id="mgen_2f8b1c4e9a7d",
        status="queued",
        progress=0,
        engine="studio",
        mode="creation",
        created_at=datetime(2026, 6, 28, 12, 30, 0, 987654, tzinfo=plus_two),
        result_track_id=None,
        error_message=None,
        refusal_reason=None,
        playback_url=None,
        playback_url_expires_at=None,
        track=None,
    )

    assert '"created_at":"2026-06-28T10:30:00Z"' in job.model_dump_json()


def test_naive_datetimes_are_never_guessed_at() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_utc_z(datetime(2026, 6, 28, 10, 30))  # noqa: DTZ001 - the case under test


def test_a_tracks_licence_classes_are_the_engine_catalogues() -> None:
    """The stored track (jobs/models.py, which imports no engine module) and the engine catalogue name one list."""
    assert get_args(TrackLicenceClass) == get_args(LicenceClass)
