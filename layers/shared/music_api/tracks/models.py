"""What GET /tracks/{track_id} returns: the track object (generation-family.md, "Get a track"), and its view.

Keys are always present. Field rules are the stored model's (jobs/models.py), so the published schema
holds what reading a track enforces. ``stem_urls`` is always an object: empty for a track without stems.
"""

from typing import Annotated

from pydantic import BaseModel, Field

from music_api.core.envelope import RESPONSE, UtcTimestamp
from music_api.jobs.models import (
    MAX_STEMS,
    EngineKey,
    JobMode,
    MimeType,
    StemName,
    StoredTrackItem,
    TrackId,
    TrackLicenceClass,
    TrackTitle,
)
from music_api.jobs.signer import PlaybackUrlSigner
from music_api.jobs.views import PlaybackUrl


class Track(BaseModel):
    """A music track the caller generated."""

    model_config = RESPONSE

    id: Annotated[TrackId, Field(description="Track id (mtrack_-prefixed).")]
    title: TrackTitle
    engine: Annotated[EngineKey, Field(description="Engine key the track was generated with.")]
    mode: JobMode
    measured_duration_seconds: Annotated[float, Field(ge=0, description="Measured length of the master.")]
    instrumental: bool
    licence_class: TrackLicenceClass
    commercial_use: Annotated[bool, Field(description="Whether the licence allows commercial use.")]
    requires_attribution: Annotated[bool, Field(description="Whether the licence requires attribution.")]
    mime_type: Annotated[MimeType, Field(description="Media type of the master and of every stem.")]
    created_at: Annotated[UtcTimestamp, Field(description="When the track was generated (its job succeeded).")]
    playback_url: Annotated[PlaybackUrl, Field(description="Short-TTL signed URL for the master audio.")]
    playback_url_expires_at: Annotated[
        UtcTimestamp, Field(description="When playback_url stops working; every URL here works at least until then.")
    ]
    stem_urls: Annotated[
        dict[StemName, PlaybackUrl],
        Field(max_length=MAX_STEMS, description="Stem name -> short-TTL signed URL; empty when the track has none."),
    ]


_STORED_FIELDS = set(Track.model_fields) - {"playback_url", "playback_url_expires_at", "stem_urls"}


def track_view(track: StoredTrackItem, signer: PlaybackUrlSigner) -> Track:
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
