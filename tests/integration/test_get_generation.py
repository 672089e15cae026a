"""The handler end to end against the moto server: the contract's examples, IDOR safety, faults, logs."""

import json
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from get_generation.app import lambda_handler
from music_local.emulator import LocalAws
from music_local.gateway import LambdaContext
from tests.helpers.contract import spec_example, without_request_specifics
from tests.helpers.events import generation_event, load_event
from tests.helpers.seed import AUDIO_BYTES, BOB, ORG, OTHER_ORG, SEED_JOB_ID
from tests.helpers.world import DYNAMODB_LOCAL

pytestmark = [pytest.mark.runs_as("GetGenerationFunction"), pytest.mark.dynamodb(DYNAMODB_LOCAL)]

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def invoke(aws: LocalAws, lambda_context: LambdaContext) -> Invoke:
    def run(event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = lambda_handler(event, lambda_context)
        return response

    return run


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(response["body"])
    return body


class TestTheContractsExamples:
    def test_succeeded_job_matches_the_200_example_field_by_field(self, invoke: Invoke) -> None:
        example = spec_example("200 OK:")
        before = datetime.now(UTC).replace(microsecond=0)

        response = invoke(load_event("get_generation_succeeded.json"))

        assert response["statusCode"] == 200
        body = body_of(response)
        expected_keys = list(example)
        expected_keys.insert(expected_keys.index("playback_url") + 1, "playback_url_expires_at")
        assert list(body) == expected_keys
        for field in example:
            if field in {"playback_url", "track"}:
                continue
            assert body[field] == example[field], field
        assert list(body["track"]) == list(example["track"])
        for field in example["track"]:
            if field != "playback_url":
                assert body["track"][field] == example["track"][field], field
        assert body["track"]["playback_url"] == body["playback_url"]
        expires_at = datetime.strptime(body["playback_url_expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert before + timedelta(seconds=600) <= expires_at <= datetime.now(UTC) + timedelta(seconds=600)

    def test_missing_job_matches_the_404_example_field_by_field(self, invoke: Invoke) -> None:
        example = spec_example("404 Not Found:")
        # The example's job exists, but it is Alice's: for Bob, in the same organization, it does not.
        event = generation_event(ORG, example["error"]["details"]["job_id"], user_id=BOB)
        event["requestContext"]["requestId"] = "jkl012mno"
        before = datetime.now(UTC).replace(microsecond=0)

        response = invoke(event)

        assert response["statusCode"] == 404
        body = body_of(response)
        assert list(body) == list(example)
        assert list(body["error"]) == list(example["error"])
        assert without_request_specifics(body) == without_request_specifics(example)
        assert body["error"]["trace_id"] == example["error"]["trace_id"] == "req_jkl012mno"
        timestamp = datetime.strptime(body["error"]["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert before <= timestamp <= datetime.now(UTC)

    def test_missing_identity_answers_the_401_example_texts(self, invoke: Invoke) -> None:
        example = spec_example("401 Unauthorized:")
        event = load_event("get_generation_succeeded.json")
        del event["requestContext"]["authorizer"]

        response = invoke(event)

        assert response["statusCode"] == 401
        assert without_request_specifics(body_of(response)) == without_request_specifics(example)


class TestPlaybackUrl:
    def test_url_is_sigv4_and_downloads_the_master_audio_inline(self, invoke: Invoke) -> None:
        url = body_of(invoke(load_event("get_generation_succeeded.json")))["playback_url"]

        query = parse_qs(urlsplit(url).query)
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
        assert query["X-Amz-Expires"] == ["600"]
        assert query["X-Amz-SignedHeaders"] == ["host"]
        assert query["X-Amz-Credential"][0].endswith("/us-east-1/s3/aws4_request")
        assert query["response-content-type"] == ["audio/mpeg"]
        assert query["response-content-disposition"] == ['inline; filename="late-night-study.mp3"']
        with urllib.request.urlopen(url, timeout=5) as download:  # noqa: S310 - the moto server on loopback
            assert download.read() == AUDIO_BYTES
            assert download.headers["Content-Type"] == "audio/mpeg"

    def test_every_request_mints_a_new_url(self, invoke: Invoke) -> None:
        first = body_of(invoke(load_event("get_generation_succeeded.json")))["playback_url"]
        time.sleep(1.05)  # SigV4 dates have one-second resolution
        second = body_of(invoke(load_event("get_generation_succeeded.json")))["playback_url"]

        assert first != second
        assert parse_qs(urlsplit(first).query)["X-Amz-Date"] != parse_qs(urlsplit(second).query)["X-Amz-Date"]

    def test_expiry_is_clamped_to_the_signing_credentials(
        self, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        credentials_expire = datetime.now(UTC) + timedelta(seconds=120)
        monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", credentials_expire.isoformat())

        body = body_of(invoke(load_event("get_generation_succeeded.json")))

        expires_in = int(parse_qs(urlsplit(body["playback_url"]).query)["X-Amz-Expires"][0])
        assert 110 <= expires_in <= 120
        expires_at = datetime.strptime(body["playback_url_expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert expires_at <= credentials_expire

    def test_expired_credentials_answer_503_with_retry_after(
        self, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", (datetime.now(UTC) - timedelta(seconds=1)).isoformat())

        response = invoke(load_event("get_generation_succeeded.json"))

        assert response["statusCode"] == 503
        assert body_of(response)["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert response["headers"]["Retry-After"] == "1"


class TestStatuses:
    @pytest.mark.parametrize(
        ("job_id", "status", "field", "value"),
        [
            ("mgen_queued0001", "queued", None, None),
            ("mgen_running0001", "running", None, None),
            (
                "mgen_failed00001",
                "failed",
                "error_message",
                "The engine could not finish this track. Please retry.",
            ),
            ("mgen_cancel00001", "cancelled", None, None),
            (
                "mgen_refused0001",
                "refused",
                "refusal_reason",
                "The prompt asks to imitate a living artist's voice.",
            ),
        ],
    )
    def test_unfinished_jobs_have_null_playback_and_track(
        self, invoke: Invoke, job_id: str, status: str, field: str | None, value: str | None
    ) -> None:
        body = body_of(invoke(generation_event(ORG, job_id)))

        assert body["status"] == status
        assert body["playback_url"] is None
        assert body["playback_url_expires_at"] is None
        assert body["track"] is None
        assert body["result_track_id"] is None
        for optional in ("error_message", "refusal_reason"):
            assert body[optional] == (value if optional == field else None)

    def test_in_flight_jobs_tell_pollers_when_to_come_back(self, invoke: Invoke) -> None:
        assert invoke(generation_event(ORG, "mgen_queued0001"))["headers"]["Retry-After"] == "5"
        assert invoke(generation_event(ORG, "mgen_running0001"))["headers"]["Retry-After"] == "2"
        assert "Retry-After" not in invoke(generation_event(ORG, SEED_JOB_ID))["headers"]


class TestTenantIsolation:
    def test_another_users_job_reads_exactly_like_a_missing_job(self, invoke: Invoke, aws: LocalAws) -> None:
        bobs_job = generation_event(ORG, "mgen_bobjob00001")
        while_it_exists = invoke(bobs_job)
        aws.delete_job(ORG, BOB, "mgen_bobjob00001")
        once_deleted = invoke(bobs_job)

        assert while_it_exists["statusCode"] == once_deleted["statusCode"] == 404
        assert while_it_exists["headers"].keys() == once_deleted["headers"].keys()
        assert without_request_specifics(body_of(while_it_exists)) == without_request_specifics(body_of(once_deleted))

    def test_the_caller_is_only_ever_who_the_authorizer_says(self, invoke: Invoke) -> None:
        """Nothing the client sends can name another user: the key comes from the authorizer's context."""
        event = generation_event(ORG, "mgen_bobjob00001")
        event["queryStringParameters"] = {"user_id": BOB}
        event["headers"] |= {"X-User-Id": BOB, "X-Amzn-Oidc-Identity": BOB}
        event["requestContext"]["identity"]["user"] = BOB

        assert invoke(event)["statusCode"] == 404

    def test_owner_still_reads_the_job(self, invoke: Invoke) -> None:
        assert invoke(generation_event(ORG, "mgen_bobjob00001", user_id=BOB))["statusCode"] == 200

    def test_a_member_of_both_organizations_cannot_read_another_users_job_in_either(self, invoke: Invoke) -> None:
        both = f"{ORG},{OTHER_ORG}"
        for organization_id in (ORG, OTHER_ORG):
            response = invoke(generation_event(organization_id, "mgen_carol00001", orgs=both))
            assert response["statusCode"] == 404

    def test_the_path_organization_must_be_one_of_the_callers(self, invoke: Invoke) -> None:
        response = invoke(generation_event(OTHER_ORG, "mgen_carol00001"))

        assert response["statusCode"] == 403
        assert body_of(response)["error"]["code"] == "ORGANIZATION_ACCESS_DENIED"


class TestMalformedEvents:
    """A direct invocation can carry anything; whatever it is, the handler answers the envelope."""

    @pytest.mark.parametrize("event", [[], None, "GET /v1/music", 42, ["requestContext"]], ids=repr)
    def test_an_event_that_is_not_an_object_is_a_500_envelope(self, event: Any, lambda_context: LambdaContext) -> None:
        response = lambda_handler(event, lambda_context)

        assert response["statusCode"] == 500
        assert body_of(response)["error"]["code"] == "INTERNAL_ERROR"
        assert body_of(response)["error"]["trace_id"] == f"req_{lambda_context.aws_request_id}"

    @pytest.mark.parametrize(
        "request_context",
        ["a string", None, [], {"requestId": 5, "authorizer": "usr_alice01"}, {"authorizer": None}],
        ids=repr,
    )
    def test_a_malformed_request_context_is_the_401_of_a_missing_identity(
        self, request_context: Any, lambda_context: LambdaContext
    ) -> None:
        event = load_event("get_generation_succeeded.json") | {"requestContext": request_context}

        response = lambda_handler(event, lambda_context)

        assert response["statusCode"] == 401
        assert body_of(response)["error"]["code"] == "AUTHENTICATION_REQUIRED"
