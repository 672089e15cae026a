"""The endpoint's logic: the caller's track, with freshly signed URLs for its master and stems."""

from music_api.core.errors import TrackNotFoundError
from music_api.generations.signer import PlaybackUrlSigner
from music_api.generations.stored import StoredTrackItem
from music_api.tracks.request import GetTrackRequest
from music_api.tracks.response import Track
from music_api.tracks.store import TrackRepository

_STORED_FIELDS = set(Track.model_fields) - {"playback_url", "playback_url_expires_at", "stem_urls"}


def get_track(request: GetTrackRequest, tracks: TrackRepository) -> StoredTrackItem:
    """The caller's stored track. A track of another user or organization is not found, by key."""
    track = tracks.get(request.organization_id, request.caller.user_id, request.track_id)
    if track is None:
        raise TrackNotFoundError(request.track_id)
    return track


def public_view(track: StoredTrackItem, signer: PlaybackUrlSigner) -> Track:
    """The track as the route answers it: stored fields by name, URLs minted now (the master first, so every
    stem's URL lives at least as long as ``playback_url_expires_at`` says)."""
    master = signer.sign(track)
    stems = signer.sign_stems(track)
    return Track(
        **track.model_dump(include=_STORED_FIELDS),
        playback_url=master.url,
        playback_url_expires_at=master.expires_at,
        stem_urls={name: signed.url for name, signed in stems.items()},
    )
