"""GET /tracks/{track_id} through its own function and role against the moto server: the demo track with two
stems, URLs that download, the same 404 for missing and not yours, malformed ids, corrupt items."""

import json
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from get_track.app import lambda_handler
from music_api.core.dynamodb import from_item, to_item
from music_api.jobs.store import track_key
from music_local.emulator import LocalAws
from music_local.gateway import LambdaContext
from tests.helpers.contract import without_request_specifics
from tests.helpers.events import load_event
from tests.helpers.seed import ALICE, AUDIO_BYTES, BOB, CAROL, ORG, OTHER_ORG, SEED_JOB_ID, SEED_TRACK_ID

pytestmark = pytest.mark.runs_as("GetTrackFunction")

Invoke = Callable[[dict[str, Any]], dict[str, Any]]
BOBS_TRACK = "mtrack_b0b0b0b0b0b0"
CAROLS_TRACK = "mtrack_ca01ca01ca01"


def track_event(organization_id: str, track_id: str, *, user_id: str = ALICE, orgs: str = ORG) -> dict[str, Any]:
    """A GET track proxy event, as the authorizer passes it on for ``user_id`` in ``orgs``."""
    event = load_event("get_track_with_stems.json")
    event["pathParameters"] = {"organization_id": organization_id, "track_id": track_id}
    event["requestContext"]["authorizer"].update(user_id=user_id, principalId=user_id, organization_ids=orgs)
    return event


@pytest.fixture
def invoke(aws: LocalAws) -> Invoke:
    context = LambdaContext(function_name="music-generations-GetTrackFunction")

    def run(event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = lambda_handler(event, context)
        return response

    return run


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(response["body"])
    return body


def download(url: str) -> tuple[bytes, str, str]:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - the emulator on 127.0.0.1
        return answer.read(), answer.headers["Content-Type"], answer.headers["Content-Disposition"]


class TestTheDemoTrack:
    def test_answers_every_field_in_the_documented_order(self, invoke: Invoke) -> None:
        before = datetime.now(UTC).replace(microsecond=0)

        response = invoke(load_event("get_track_with_stems.json"))

        assert response["statusCode"] == 200
        body = body_of(response)
        assert list(body) == [
            "id",
            "title",
            "engine",
            "mode",
            "measured_duration_seconds",
            "instrumental",
            "licence_class",
            "commercial_use",
            "requires_attribution",
            "mime_type",
            "created_at",
            "playback_url",
            "playback_url_expires_at",
            "stem_urls",
        ]
        assert {name: value for name, value in body.items() if "url" not in name} == {
            "id": SEED_TRACK_ID,
            "title": "Late Night Study",
            "engine": "studio",
            "mode": "creation",
            "measured_duration_seconds": 119.4,
            "instrumental": True,
            "licence_class": "personal_only",
            "commercial_use": False,
            "requires_attribution": True,
            "mime_type": "audio/mpeg",
            "created_at": "2026-06-28T10:30:00Z",
        }
        assert list(body["stem_urls"]) == ["drums", "vocals"]
        expires_at = datetime.strptime(body["playback_url_expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert before + timedelta(seconds=600) <= expires_at <= datetime.now(UTC) + timedelta(seconds=600)

    def test_the_master_and_each_stem_download_under_their_own_keys_and_names(self, invoke: Invoke) -> None:
        body = body_of(invoke(load_event("get_track_with_stems.json")))

        urls = {"master": body["playback_url"]} | body["stem_urls"]
        paths = {name: urlsplit(url).path for name, url in urls.items()}
        assert paths == {
            "master": f"/test-music-audio/audio/{ORG}/{SEED_TRACK_ID}.mp3",
            "drums": f"/test-music-audio/audio/{ORG}/{SEED_TRACK_ID}/drums.mp3",
            "vocals": f"/test-music-audio/audio/{ORG}/{SEED_TRACK_ID}/vocals.mp3",
        }
        for name, url in urls.items():
            query = parse_qs(urlsplit(url).query)
            assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
            assert query["X-Amz-Expires"] == ["600"]
            content, content_type, disposition = download(url)
            assert content == AUDIO_BYTES
            assert content_type == "audio/mpeg"
            suffix = "" if name == "master" else f"-{name}"
            assert disposition == f'inline; filename="late-night-study{suffix}.mp3"'

    def test_every_request_mints_new_urls(self, invoke: Invoke) -> None:
        first = body_of(invoke(load_event("get_track_with_stems.json")))
        time.sleep(1.05)  # SigV4 dates have one-second resolution
        second = body_of(invoke(load_event("get_track_with_stems.json")))

        assert first["playback_url"] != second["playback_url"]
        assert first["stem_urls"]["vocals"] != second["stem_urls"]["vocals"]

    def test_a_track_without_stems_has_an_empty_stem_object(self, invoke: Invoke) -> None:
        body = body_of(invoke(track_event(ORG, BOBS_TRACK, user_id=BOB)))

        assert body["stem_urls"] == {}
        assert download(body["playback_url"])[0] == AUDIO_BYTES


class TestOnlyTheOwner:
    def test_another_users_track_reads_exactly_like_a_missing_one(self, invoke: Invoke, aws: LocalAws) -> None:
        bobs = track_event(ORG, BOBS_TRACK)
        while_it_exists = invoke(bobs)
        aws.dynamodb.delete_item(TableName=aws.jobs_table, Key=track_key(ORG, BOB, BOBS_TRACK))
        once_deleted = invoke(bobs)

        assert while_it_exists["statusCode"] == once_deleted["statusCode"] == 404
        assert while_it_exists["headers"].keys() == once_deleted["headers"].keys()
        assert without_request_specifics(body_of(while_it_exists)) == without_request_specifics(body_of(once_deleted))
        assert body_of(once_deleted)["error"] | {"trace_id": "", "timestamp": ""} == {
            "code": "RESOURCE_NOT_FOUND",
            "message": "The requested resource could not be found.",
            "system_message": "Music track not found",
            "type": "client_error",
            "status": 404,
            "details": {"track_id": BOBS_TRACK},
            "trace_id": "",
            "timestamp": "",
        }

    def test_the_owner_reads_it(self, invoke: Invoke) -> None:
        assert invoke(track_event(ORG, BOBS_TRACK, user_id=BOB))["statusCode"] == 200

    def test_a_job_id_or_another_keys_item_is_never_a_track(self, invoke: Invoke) -> None:
        """The track key is the track partition's: the seed job's id in its place finds nothing."""
        assert invoke(track_event(ORG, SEED_TRACK_ID, user_id=BOB))["statusCode"] == 404
        assert invoke(track_event(ORG, "mtrack_" + SEED_JOB_ID.removeprefix("mgen_")))["statusCode"] == 404

    def test_a_member_of_both_organizations_cannot_read_another_users_track_in_either(self, invoke: Invoke) -> None:
        both = f"{ORG},{OTHER_ORG}"
        for organization_id in (ORG, OTHER_ORG):
            assert invoke(track_event(organization_id, CAROLS_TRACK, orgs=both))["statusCode"] == 404

    def test_the_path_organization_must_be_one_of_the_callers(self, invoke: Invoke) -> None:
        response = invoke(track_event(OTHER_ORG, CAROLS_TRACK))

        assert response["statusCode"] == 403
        assert body_of(response)["error"]["code"] == "ORGANIZATION_ACCESS_DENIED"
        assert invoke(track_event(OTHER_ORG, CAROLS_TRACK, user_id=CAROL, orgs=OTHER_ORG))["statusCode"] == 200


@pytest.mark.parametrize(
    ("track_id", "field"),
    [
        ("mtrack_bad-id", "track_id"),
        ("mtrack_short", "track_id"),
        ("mgen_2f8b1c4e9a7d", "track_id"),
        ("mtrack_" + "a" * 65, "track_id"),
        ("mtrack_7c1a9e2f4b8d%00", "track_id"),
    ],
)
def test_a_malformed_track_id_is_a_400_naming_it(invoke: Invoke, track_id: str, field: str) -> None:
    response = invoke(track_event(ORG, track_id))

    assert response["statusCode"] == 400
    error = body_of(response)["error"]
    assert (error["code"], error["details"]["field"]) == ("VALIDATION_ERROR", field)
    assert track_id not in response["body"]


def stored_seed_track(aws: LocalAws) -> dict[str, Any]:
    item = aws.dynamodb.get_item(TableName=aws.jobs_table, Key=track_key(ORG, ALICE, SEED_TRACK_ID))["Item"]
    return {name: value for name, value in from_item(item).items() if name not in {"pk", "sk"}}


CORRUPTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "missing-title": lambda item: {k: v for k, v in item.items() if k != "title"},
    "licence-flag-missing": lambda item: {k: v for k, v in item.items() if k != "commercial_use"},
    "licence-overstated": lambda item: item | {"commercial_use": True},
    "duration-is-a-string": lambda item: item | {"measured_duration_seconds": "119.4"},
    "master-off-prefix": lambda item: item | {"audio_key": "private/master.mp3"},
    "stem-off-prefix": lambda item: item | {"stems": {"vocals": "audio/../private/vocals.mp3"}},
    "stem-name-not-a-name": lambda item: item | {"stems": {"Vocals!": item["audio_key"]}},
    "attributes-disagree-with-key": lambda item: item | {"user_id": BOB},
    "naive-created-at": lambda item: item | {"created_at": "2026-06-28T10:30:00"},
}


@pytest.mark.parametrize("corrupt", list(CORRUPTIONS.values()), ids=list(CORRUPTIONS))
def test_a_corrupt_track_item_is_a_500_with_nothing_internal_in_the_body(
    invoke: Invoke, aws: LocalAws, corrupt: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    item = track_key(ORG, ALICE, SEED_TRACK_ID) | to_item(corrupt(stored_seed_track(aws)))
    aws.dynamodb.put_item(TableName=aws.jobs_table, Item=item)

    response = invoke(load_event("get_track_with_stems.json"))

    assert response["statusCode"] == 500
    error = body_of(response)["error"]
    assert (error["code"], error["system_message"], error["details"]) == ("INTERNAL_ERROR", "Internal server error", {})
    for internal in (aws.jobs_table, aws.bucket, "private/", "TRACK#", "Stored track"):
        assert internal not in response["body"]


def test_the_seed_track_item_itself_is_not_corrupt(invoke: Invoke, aws: LocalAws) -> None:
    """Guards the corrupt-item cases above: each differs from the stored item in one way only."""
    aws.dynamodb.put_item(
        TableName=aws.jobs_table, Item=track_key(ORG, ALICE, SEED_TRACK_ID) | to_item(stored_seed_track(aws))
    )

    assert invoke(load_event("get_track_with_stems.json"))["statusCode"] == 200
