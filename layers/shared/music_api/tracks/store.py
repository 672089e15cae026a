"""Tracks in DynamoDB: one GetItem of the caller's own track key (docs/data-model.md, "Tracks").

The key is built from the authorizer's user id (``music_api.jobs.store.track_key``), so another user's
or organization's track is simply not found. The job writer's ``succeed`` writes the item.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from music_api.core.dynamodb import consistent_item, from_item
from music_api.core.errors import InternalError
from music_api.jobs.models import StoredTrackItem
from music_api.jobs.store import track_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class CorruptTrackError(InternalError):
    """A stored track item does not satisfy the stored-item model (or its key)."""


class TrackRepository:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def get(self, organization_id: str, user_id: str, track_id: str) -> StoredTrackItem | None:
        """The caller's track, or ``None`` when the caller has no such track.

        Strongly consistent: the track is written with its job's success, and a client that has just seen the
        job succeed must find the track."""
        key = track_key(organization_id, user_id, track_id)
        item = consistent_item(self._client, self._table_name, key, "Track store")
        if item is None:
            return None
        return to_track(item, organization_id, user_id, track_id)


def to_track(item: Mapping[str, Any], organization_id: str, user_id: str, track_id: str) -> StoredTrackItem:
    try:
        track = StoredTrackItem.model_validate(from_item(item))
    except (ValidationError, TypeError, ValueError) as exc:
        raise CorruptTrackError("Stored track item is invalid") from exc
    # The key and the attributes must agree; a mismatch means a bad write, never data to hand out.
    if (track.organization_id, track.user_id, track.id) != (organization_id, user_id, track_id):
        raise CorruptTrackError("Stored track item does not match its key")
    return track
