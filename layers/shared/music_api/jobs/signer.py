"""Presigned playback URLs for master audio and stems, minted on every request (SigV4, never cached)."""

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, RefreshableCredentials
from botocore.exceptions import BotoCoreError
from botocore.utils import percent_encode

from music_api.core.aws import aws_session, s3_bucket_url
from music_api.core.clock import utc_now
from music_api.core.errors import ServiceUnavailableError
from music_api.jobs.models import CorruptJobError, StoredTrack
from music_api.jobs.settings import GenerationSettings

_EXTENSIONS = {
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/aac": "aac",
    "audio/flac": "flac",
    "audio/ogg": "ogg",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/webm": "webm",
}
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_MAX_FILENAME_STEM = 80


@dataclass(frozen=True, slots=True)
class SignedUrl:
    url: str
    expires_at: datetime


class SigningUnavailableError(ServiceUnavailableError):
    """No usable credentials to sign with right now."""


def download_filename(track: StoredTrack, stem_name: str | None = None) -> str:
    """An ASCII-only, quote-free filename for Content-Disposition, derived from the title (and a stem's name:
    ``late-night-study-vocals.mp3``)."""
    ascii_title = unicodedata.normalize("NFKD", track.title).encode("ascii", "ignore").decode("ascii")
    name = _NOT_SLUG.sub("-", ascii_title.lower()).strip("-")[:_MAX_FILENAME_STEM].rstrip("-") or track.id
    suffix = f"-{_NOT_SLUG.sub('-', stem_name.lower()).strip('-')}" if stem_name else ""
    return f"{name}{suffix}.{file_extension(track.mime_type)}"


def is_signable_audio_key(audio_key: str, key_prefix: str) -> bool:
    """Below the prefix the function's role may read, with no ``..`` segment (the job writer checks it too)."""
    return audio_key.startswith(key_prefix) and ".." not in audio_key.split("/")


def file_extension(mime_type: str) -> str:
    """The usual file extension of an audio type; ``audio`` for types without one."""
    return _EXTENSIONS.get(mime_type, "audio")


def credentials_expiry(credentials: Credentials) -> datetime | None:
    """When the signing credentials stop working, if botocore knows (assumed roles, container credentials,
    ``AWS_CREDENTIAL_EXPIRATION``); ``None`` for static credentials."""
    if not isinstance(credentials, RefreshableCredentials):
        return None
    try:
        credentials.get_frozen_credentials()  # refreshes first when botocore's refresh window has been reached
    except (BotoCoreError, RuntimeError) as exc:  # RuntimeError: refreshed credentials still expired
        raise SigningUnavailableError("Signing credentials could not be refreshed") from exc
    # botocore offers no public accessor for the expiry; this attribute has been stable since 2015.
    expiry = getattr(credentials, "_expiry_time", None)
    return expiry if isinstance(expiry, datetime) else None


class PlaybackUrlSigner:
    """SigV4 query signing with botocore's own signer, the request built as boto3's S3 client builds it for
    ``generate_presigned_url("get_object")``: the same URL, byte for byte, without creating an S3 client."""

    def __init__(
        self,
        bucket_url: str,
        region: str,
        key_prefix: str,
        ttl_seconds: int,
        credentials: Credentials | None,
    ) -> None:
        self._bucket_url = bucket_url
        self._region = region
        self._key_prefix = key_prefix
        self._ttl_seconds = ttl_seconds
        self._credentials = credentials

    def sign(self, track: StoredTrack) -> SignedUrl:
        """The master audio's URL."""
        return self._sign(track.audio_key, track.mime_type, download_filename(track))

    def sign_stems(self, track: StoredTrack) -> dict[str, SignedUrl]:
        """Each stem's URL, by stem name (stems share the master's MIME type); empty for a track without stems."""
        return {
            name: self._sign(audio_key, track.mime_type, download_filename(track, name))
            for name, audio_key in sorted((track.stems or {}).items())
        }

    def _sign(self, audio_key: str, mime_type: str, filename: str) -> SignedUrl:
        # The role may read only below the prefix: a key elsewhere is a bad write, not something to sign.
        if not is_signable_audio_key(audio_key, self._key_prefix):
            raise CorruptJobError("Track audio key is outside the audio prefix")
        if self._credentials is None:
            raise SigningUnavailableError("No credentials to sign with")
        now = utc_now()
        expires_in = self._expires_in(self._credentials, now)
        # The key is a path (S3 keeps "/" and "~" as they are); the response overrides are query parameters, in
        # the order boto3 puts them.
        request = AWSRequest(
            method="GET",
            url=f"{self._bucket_url}/{percent_encode(audio_key, safe='/~')}",
            params={
                "response-content-type": mime_type,
                "response-content-disposition": f'inline; filename="{filename}"',
            },
        )
        try:
            signer = S3SigV4QueryAuth(self._credentials.get_frozen_credentials(), "s3", self._region, expires_in)
            signer.add_auth(request)
        except (BotoCoreError, RuntimeError) as exc:  # RuntimeError: refreshed credentials still expired
            raise SigningUnavailableError("Presigning failed") from exc
        return SignedUrl(url=request.prepare().url, expires_at=now + timedelta(seconds=expires_in))

    def _expires_in(self, credentials: Credentials, now: datetime) -> int:
        """The configured TTL, clamped so that the URL never outlives the credentials that sign it."""
        expiry = credentials_expiry(credentials)
        if expiry is None:
            return self._ttl_seconds
        remaining = math.floor((expiry - now).total_seconds())
        if remaining < 1:
            raise SigningUnavailableError("Signing credentials have expired")
        return min(self._ttl_seconds, remaining)


def signer_for(settings: GenerationSettings) -> PlaybackUrlSigner:
    """The signer every route that answers audio URLs uses (GET, cancel, the track), from its settings."""
    return PlaybackUrlSigner(
        s3_bucket_url(settings.audio_bucket_name),
        region=settings.aws_region,
        key_prefix=settings.audio_key_prefix,
        ttl_seconds=settings.playback_url_ttl_seconds,
        credentials=aws_session().get_credentials(),
    )
