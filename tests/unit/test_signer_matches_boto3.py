"""Our presigned URLs are byte for byte the URLs boto3's S3 client presigns for the same inputs and clock.

The signer builds the request itself and signs it with botocore's SigV4 query signer, so that no S3 client is
created; this property is what makes that safe: any difference in endpoint, key encoding, parameter order or
signature shows up as a failing example.
"""

from datetime import datetime
from functools import cache
from typing import Literal
from unittest import mock

import boto3
import pytest
from botocore.config import Config
from botocore.credentials import Credentials
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from mypy_boto3_s3 import S3Client

from music_api.core.aws import s3_bucket_url
from music_api.jobs.models import StoredTrack
from music_api.jobs.signer import PlaybackUrlSigner, download_filename
from tests.helpers.aws import reset_aws

FROZEN_CLOCK = datetime(2026, 6, 28, 10, 30, 5)  # noqa: DTZ001 - naive UTC, as botocore's clock returns it
EMULATOR = "http://127.0.0.1:5000"
# Temporary credentials, as Lambda's role gives: the session token travels in the URL, encoded.
CREDENTIALS = Credentials("ASIAEXAMPLEEXAMPLE00", "wJalrXUtnFEMI/K7MDENG+bPxRfiCY", "FwoG+ZXIv/YXdz=EXAMPLE")
BUCKETS = ("test-music-audio", "music-audio-123456789012", "legacy.dotted.bucket")

# Keys and titles are built from pieces that URL encoding treats specially, ordinary words and arbitrary
# non-ASCII text (no surrogates: DynamoDB strings are UTF-8), so that every example mixes them.
SPECIAL = [*" +%~/?#&=;:,@!$'()*[]\"<>\\^`{|}\u00a0\u200b", "%20", "%2F", "+/+", "//", "./", "é", "東京", "ß"]
PIECES = st.one_of(
    st.sampled_from(SPECIAL),
    st.sampled_from(["Late Night Study", "org_abc123/", "mtrack_7c1a9e2f4b8d", ".mp3", "a-b_c.d"]),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12),
)
KEY_ROOM = 1024 - len("audio/")
KEYS = st.one_of(
    st.lists(PIECES, max_size=30).map("".join).map(lambda key: key[:KEY_ROOM]),
    st.lists(PIECES, min_size=1, max_size=8).map(lambda pieces: ("".join(pieces) * KEY_ROOM)[:KEY_ROOM]),  # longest
)
TITLES = st.lists(PIECES, min_size=1, max_size=20).map("".join).map(lambda title: title[:300])
MIME_TYPES = st.one_of(
    st.sampled_from(["audio/mpeg", "audio/flac", "audio/x-wav"]),
    st.from_regex(r"audio/[a-z0-9.+-]{1,64}", fullmatch=True),
)
TTLS = st.integers(min_value=60, max_value=3600)
EXAMPLES = settings(max_examples=100, derandomize=True, database=None, deadline=None)


@cache
def boto3_s3_client(region: str, endpoint_url: str | None) -> S3Client:
    """The client the signer replaced, configured as it was: SigV4, regional endpoint, virtual host in AWS."""
    session = boto3.session.Session(
        region_name=region,
        aws_access_key_id=CREDENTIALS.access_key,
        aws_secret_access_key=CREDENTIALS.secret_key,
        aws_session_token=CREDENTIALS.token,
    )
    addressing_style: Literal["path", "virtual"] = "path" if endpoint_url else "virtual"
    config = Config(
        signature_version="s3v4", s3={"addressing_style": addressing_style, "us_east_1_regional_endpoint": "regional"}
    )
    return session.client("s3", endpoint_url=endpoint_url, config=config)


def stored_track(key: str, title: str, mime_type: str) -> StoredTrack:
    audio_key = f"audio/{key}"
    assume(".." not in audio_key.split("/"))  # never signed: a key outside the prefix (test_signer.py)
    return StoredTrack(
        id="mtrack_7c1a9e2f4b8d",
        title=title,
        engine="studio",
        mode="creation",
        instrumental=True,
        measured_duration_seconds=119.4,
        mime_type=mime_type,
        licence_class="personal_only",
        audio_key=audio_key,
    )


def check_urls_match_boto3(monkeypatch: pytest.MonkeyPatch, region: str, endpoint_url: str | None, bucket: str) -> None:
    monkeypatch.setenv("AWS_REGION", region)
    if endpoint_url:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint_url)
    reset_aws()
    url_of_bucket = s3_bucket_url(bucket)
    client = boto3_s3_client(region, endpoint_url)

    @EXAMPLES
    @given(key=KEYS, title=TITLES, mime_type=MIME_TYPES, ttl=TTLS)
    def same_url(key: str, title: str, mime_type: str, ttl: int) -> None:
        track = stored_track(key, title, mime_type)
        signer = PlaybackUrlSigner(url_of_bucket, region, "audio/", ttl, CREDENTIALS)
        with mock.patch("botocore.auth.get_current_datetime", return_value=FROZEN_CLOCK):
            ours = signer.sign(track).url
            boto3s = client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": bucket,
                    "Key": track.audio_key,
                    "ResponseContentType": track.mime_type,
                    "ResponseContentDisposition": f'inline; filename="{download_filename(track)}"',
                },
                ExpiresIn=ttl,
            )
        assert ours == boto3s

    same_url()


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1"])
@pytest.mark.parametrize("bucket", BUCKETS)
def test_regional_urls_match_boto3(monkeypatch: pytest.MonkeyPatch, region: str, bucket: str) -> None:
    check_urls_match_boto3(monkeypatch, region, None, bucket)


@pytest.mark.parametrize("endpoint_url", [EMULATOR, f"{EMULATOR}/", "http://localhost:4566/s3-prefix"])
def test_emulator_path_style_urls_match_boto3(monkeypatch: pytest.MonkeyPatch, endpoint_url: str) -> None:
    check_urls_match_boto3(monkeypatch, "us-east-1", endpoint_url, BUCKETS[0])
