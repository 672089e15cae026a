"""Test data behind the events in events/: who the callers are, their keys, and which jobs they own.

``usr_alice01`` and ``usr_bob02`` belong to ``org_abc123``; ``usr_carol03`` belongs to ``org_xyz789``;
``usr_dave04`` belongs to no organization. Alice owns the contract's example job and one job in every other
status; Bob and Carol own one succeeded job each. The keys are fixed because events/ carries them.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from music_api.data.auth import AuthRepository
from music_api.data.dynamodb import to_item
from music_api.data.jobs import job_key

ALICE = "usr_alice01"
BOB = "usr_bob02"
CAROL = "usr_carol03"
DAVE = "usr_dave04"
ORG = "org_abc123"
OTHER_ORG = "org_xyz789"
ALICE_KEY = "frd_test_ecyWJFrOeyePLimY7BxcQhWzSkVOa32StzqY"
BOB_KEY = "frd_test_vHVglp1HzaDXIhkrtosSDrsrRpVOAi1spkeC"
CAROL_KEY = "frd_live_ggbTVPjOV7i8Ge9QwRl0dzmN3NQQQB3IjGHt"
ALICE_REVOKED_KEY = "frd_test_FoRgP5mQb30Y4SqPXdR6PbFWPn0IIi3QOqwe"
ALICE_EXPIRED_KEY = "frd_test_lmBWaxC1ASHF8KJ0WFmNfB1p2b8xbM343dpr"
DAVE_KEY = "frd_test_wsttWFVE7yPMte6VpwGE33kW7X5G8X1IGpGF"
UNKNOWN_KEY = "frd_test_xMYET98Zl9TrC9tdIFynFpmiG4JpwV3CbU7g"  # well formed, never stored
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


def job_item(job: dict[str, Any]) -> dict[str, Any]:
    """A job as a DynamoDB item (attribute-value form), keyed the way the repository reads it."""
    return job_key(job["organization_id"], job["user_id"], job["id"]) | to_item(job)


def seed_auth(repository: AuthRepository) -> None:
    """Users, organizations, memberships and keys, written the way the operator CLI writes them."""
    for user in (ALICE, BOB, CAROL, DAVE):
        repository.create_user(user)
    for organization in (ORG, OTHER_ORG):
        repository.create_organization(organization)
    repository.add_membership(ALICE, ORG, "owner")
    repository.add_membership(BOB, ORG, "member")
    repository.add_membership(CAROL, OTHER_ORG, "owner")
    for user, key in ((ALICE, ALICE_KEY), (BOB, BOB_KEY), (CAROL, CAROL_KEY), (DAVE, DAVE_KEY)):
        repository.create_api_key(user, "live" if key.startswith("frd_live_") else "test", key=key)
    repository.create_api_key(ALICE, "test", datetime(2026, 1, 1, tzinfo=UTC), key=ALICE_EXPIRED_KEY)
    _, revoked = repository.create_api_key(ALICE, "test", key=ALICE_REVOKED_KEY)
    repository.revoke_api_key(ALICE, revoked.key_id)
