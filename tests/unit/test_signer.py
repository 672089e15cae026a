"""Presigned playback URLs: SigV4, regional, inline with a safe filename, never outliving their credentials."""

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.credentials import Credentials, RefreshableCredentials

from music_api.core.aws import aws_session, s3_bucket_url
from music_api.core.settings import aws_settings
from music_api.jobs import signer as signer_module
from music_api.jobs.models import CorruptJobError, StoredTrack
from music_api.jobs.signer import (
    PlaybackUrlSigner,
    SigningUnavailableError,
    credentials_expiry,
    download_filename,
)
from tests.helpers.aws import reset_aws
from tests.helpers.seed import JOBS

TRACK = StoredTrack.model_validate(JOBS[0]["track"])


def track(**changes: Any) -> StoredTrack:
    return TRACK.model_copy(update=changes)


def signer(credentials: Credentials | None, ttl_seconds: int = 600) -> PlaybackUrlSigner:
    return PlaybackUrlSigner(
        s3_bucket_url("test-music-audio"),
        region=aws_settings().aws_region,
        key_prefix="audio/",
        ttl_seconds=ttl_seconds,
        credentials=credentials,
    )


def expiring_credentials(expires_in: timedelta) -> RefreshableCredentials:
    metadata = {
        "access_key": "ASIAEXAMPLEEXAMPLE00",
        "secret_key": "secretsecretsecretsecretsecretsecret0000",
        "token": "FwoGZXIvYXdzEXAMPLETOKEN",
        "expiry_time": (datetime.now(UTC) + expires_in).isoformat(),
    }
    return RefreshableCredentials.create_from_metadata(metadata, refresh_using=lambda: metadata, method="test")


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


@pytest.mark.parametrize(
    ("title", "mime_type", "expected"),
    [
        ("Late Night Study", "audio/mpeg", "late-night-study.mp3"),
        ("Café del Mar — Ñandú", "audio/flac", "cafe-del-mar-nandu.flac"),
        ('Say "Hi"\r\nX-Evil: 1; filename=x.exe', "audio/wav", "say-hi-x-evil-1-filename-x-exe.wav"),
        ("東京の夜", "audio/mpeg", "mtrack_7c1a9e2f4b8d.mp3"),
        ("!!!", "audio/x-unknown", "mtrack_7c1a9e2f4b8d.audio"),
        ("a" * 200, "audio/ogg", "a" * 80 + ".ogg"),
    ],
)
def test_the_download_filename_is_a_safe_ascii_slug(title: str, mime_type: str, expected: str) -> None:
    assert download_filename(track(title=title, mime_type=mime_type)) == expected


def test_a_url_is_sigv4_with_the_tracks_type_and_an_inline_disposition() -> None:
    signed = signer(aws_session().get_credentials()).sign(TRACK)

    parts = urlsplit(signed.url)
    assert parts.scheme == "https"
    assert parts.path.endswith("/audio/org_abc123/mtrack_7c1a9e2f4b8d.mp3")
    params = query(signed.url)
    assert params["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert params["X-Amz-Expires"] == ["600"]
    assert params["response-content-type"] == ["audio/mpeg"]
    assert params["response-content-disposition"] == ['inline; filename="late-night-study.mp3"']
    assert len(params["X-Amz-Signature"][0]) == 64


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1"])
def test_urls_use_the_regional_endpoint(monkeypatch: pytest.MonkeyPatch, region: str) -> None:
    monkeypatch.setenv("AWS_REGION", region)
    reset_aws()

    url = signer(aws_session().get_credentials()).sign(TRACK).url

    assert urlsplit(url).hostname == f"test-music-audio.s3.{region}.amazonaws.com"
    assert query(url)["X-Amz-Credential"][0].endswith(f"/{region}/s3/aws4_request")


def test_the_ttl_applies_when_credentials_outlive_it() -> None:
    before = datetime.now(UTC)
    signed = signer(expiring_credentials(timedelta(hours=6)), ttl_seconds=900).sign(TRACK)

    assert query(signed.url)["X-Amz-Expires"] == ["900"]
    assert before + timedelta(seconds=900) <= signed.expires_at <= datetime.now(UTC) + timedelta(seconds=900)


def test_the_url_never_outlives_its_credentials() -> None:
    credentials = expiring_credentials(timedelta(seconds=120))
    expiry = credentials_expiry(credentials)
    assert expiry is not None

    signed = signer(credentials).sign(TRACK)

    assert 118 <= int(query(signed.url)["X-Amz-Expires"][0]) <= 120
    assert signed.expires_at <= expiry


@pytest.mark.parametrize(
    ("left_before_expiry", "expires_in"),
    [(timedelta(seconds=1), "1"), (timedelta(milliseconds=999), None), (timedelta(0), None)],
    ids=["one-second", "under-a-second", "none"],
)
def test_credentials_with_under_a_whole_second_left_are_503_never_a_zero_second_url(
    monkeypatch: pytest.MonkeyPatch, left_before_expiry: timedelta, expires_in: str | None
) -> None:
    """The URL lives whole seconds: with less than one left there is no lifetime to give it (X-Amz-Expires=0)."""
    credentials = expiring_credentials(timedelta(hours=1))
    expiry = credentials_expiry(credentials)
    assert expiry is not None
    monkeypatch.setattr(signer_module, "utc_now", lambda: expiry - left_before_expiry)

    if expires_in is None:
        with pytest.raises(SigningUnavailableError):
            signer(credentials).sign(TRACK)
    else:
        assert query(signer(credentials).sign(TRACK).url)["X-Amz-Expires"] == [expires_in]


def test_credentials_that_cannot_be_refreshed_are_503() -> None:
    with pytest.raises(SigningUnavailableError):
        signer(expiring_credentials(timedelta(seconds=-5))).sign(TRACK)


def test_no_credentials_at_all_is_503() -> None:
    with pytest.raises(SigningUnavailableError):
        signer(None).sign(TRACK)


def test_static_credentials_have_no_known_expiry() -> None:
    assert credentials_expiry(Credentials("AKIAEXAMPLE", "secret")) is None


@pytest.mark.parametrize("audio_key", ["private/master.mp3", "audio-other/x.mp3", "audio/../private/x.mp3", "/audio/x"])
def test_keys_outside_the_audio_prefix_are_never_signed(audio_key: str) -> None:
    with pytest.raises(CorruptJobError):
        signer(aws_session().get_credentials()).sign(track(audio_key=audio_key))
