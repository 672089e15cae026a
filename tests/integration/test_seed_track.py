"""Create's ``seed_track_id``: a track the caller can access (one GetItem of the caller's own track key), else a
422 naming the field, the same for a missing track and another user's."""

import json
from typing import Any

import pytest

from create_generation.app import lambda_handler as create_handler
from music_api.jobs.store import job_key
from music_local.emulator import LocalAws
from music_local.gateway import LambdaContext
from tests.helpers.contract import without_request_specifics
from tests.helpers.events import load_event
from tests.helpers.seed import ALICE, BOB, SEED_TRACK_ID

pytestmark = pytest.mark.runs_as("CreateGenerationFunction")

BOBS_TRACK = "mtrack_b0b0b0b0b0b0"


def create(lambda_context: LambdaContext, seed_track_id: str, *, user_id: str = ALICE) -> tuple[int, dict[str, Any]]:
    event = load_event("create_generation.json")
    event["body"] = json.dumps(
        {"engine": "studio", "prompt": "Continue it", "duration_seconds": 60, "seed_track_id": seed_track_id}
    )
    event["requestContext"]["authorizer"].update(user_id=user_id, principalId=user_id)
    response = create_handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def test_a_track_of_the_callers_own_seeds_the_job(aws: LocalAws, lambda_context: LambdaContext) -> None:
    status, job = create(lambda_context, SEED_TRACK_ID)

    assert status == 202
    item = aws.dynamodb.get_item(TableName=aws.jobs_table, Key=job_key("org_abc123", ALICE, job["id"]))["Item"]
    assert item["request"]["M"]["seed_track_id"] == {"S": SEED_TRACK_ID}


@pytest.mark.parametrize("seed_track_id", ["mtrack_doesnotexist1", BOBS_TRACK])
def test_a_missing_or_another_users_track_is_a_422_naming_the_field(
    aws: LocalAws, lambda_context: LambdaContext, seed_track_id: str
) -> None:
    status, body = create(lambda_context, seed_track_id)

    assert status == 422
    assert body["error"]["code"] == "GENERATION_NOT_ALLOWED"
    assert body["error"]["details"] == {
        "field": "seed_track_id",
        "reason": "is not a track of yours in this organization",
    }


def test_missing_and_not_yours_answer_alike_and_create_nothing(aws: LocalAws, lambda_context: LambdaContext) -> None:
    jobs_before = aws.dynamodb.scan(TableName=aws.jobs_table, Select="COUNT")["Count"]

    missing = create(lambda_context, "mtrack_doesnotexist1")[1]
    not_yours = create(lambda_context, BOBS_TRACK)[1]

    assert without_request_specifics(missing) == without_request_specifics(not_yours)
    assert aws.dynamodb.scan(TableName=aws.jobs_table, Select="COUNT")["Count"] == jobs_before
    assert create(lambda_context, BOBS_TRACK, user_id=BOB)[0] == 202  # Bob's own
