"""Test data behind the events in events/: who the callers are and which jobs they own.

``usr_alice01`` and ``usr_bob02`` belong to ``org_abc123``; ``usr_carol03`` belongs to ``org_xyz789``. Alice owns
the contract's example job and one job in every other status; Bob and Carol own one succeeded job each.
"""

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from music_api.data.jobs import job_key

ALICE = "usr_alice01"
BOB = "usr_bob02"
CAROL = "usr_carol03"
ORG = "org_abc123"
OTHER_ORG = "org_xyz789"
SEED_JOB_ID = "mgen_2f8b1c4e9a7d"
SEED_TRACK_ID = "mtrack_7c1a9e2f4b8d"
# Bytes only need to round-trip through S3 here; the playable demo MP3 belongs to the local stack.
AUDIO_BYTES = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 4


def _track(track_id: str, title: str, audio_key: str) -> dict[str, Any]:
    return {
        "id": track_id,
        "title": title,
        "engine": "studio",
        "mode": "creation",
        "instrumental": True,
        "measured_duration_seconds": Decimal("119.4"),
        "mime_type": "audio/mpeg",
        "licence_class": "personal_only",
        "audio_key": audio_key,
    }


def _job(
    job_id: str, status: str, progress: int, *, user_id: str = ALICE, org: str = ORG, **extra: Any
) -> dict[str, Any]:
    return {
        "id": job_id,
        "organization_id": org,
        "user_id": user_id,
        "status": status,
        "progress": progress,
        "engine": "studio",
        "mode": "creation",
        "created_at": "2026-06-28T10:30:00Z",
        "updated_at": "2026-06-28T10:32:00Z",
        **extra,
    }


SEED_AUDIO_KEY = f"audio/{ORG}/{SEED_TRACK_ID}.mp3"
JOBS: list[dict[str, Any]] = [
    _job(
        SEED_JOB_ID,
        "succeeded",
        100,
        result_track_id=SEED_TRACK_ID,
        track=_track(SEED_TRACK_ID, "Late Night Study", SEED_AUDIO_KEY),
    ),
    _job("mgen_queued0001", "queued", 0),
    _job("mgen_running0001", "running", 42, mode="focus"),
    _job(
        "mgen_failed00001",
        "failed",
        67,
        error_message="The engine could not finish this track. Please retry.",
    ),
    _job("mgen_cancel00001", "cancelled", 12),
    _job("mgen_refused0001", "refused", 0, refusal_reason="The prompt asks to imitate a living artist's voice."),
    _job(
        "mgen_bobjob00001",
        "succeeded",
        100,
        user_id=BOB,
        result_track_id="mtrack_b0b0b0b0b0b0",
        track=_track("mtrack_b0b0b0b0b0b0", "Bob's Private Demo", f"audio/{ORG}/mtrack_b0b0b0b0b0b0.mp3"),
    ),
    _job(
        "mgen_carol00001",
        "succeeded",
        100,
        user_id=CAROL,
        org=OTHER_ORG,
        result_track_id="mtrack_ca01ca01ca01",
        track=_track("mtrack_ca01ca01ca01", "Carol's Track", f"audio/{OTHER_ORG}/mtrack_ca01ca01ca01.mp3"),
    ),
]

_serializer = TypeSerializer()


def job_item(job: dict[str, Any]) -> dict[str, Any]:
    """A job as a DynamoDB item (attribute-value form), keyed the way the repository reads it."""
    attributes = {name: _serializer.serialize(value) for name, value in job.items() if value is not None}
    return job_key(job["organization_id"], job["user_id"], job["id"]) | attributes
