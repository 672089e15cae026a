"""Shared fixtures: an isolated AWS environment, a moto server on loopback, a Lambda context, events."""

import json
import os
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from music_api.aws import reset_clients
from music_api.data.auth import AuthRepository
from music_api.data.jobs import job_key
from music_api.settings import get_settings
from tests.cloudformation import create_table_arguments
from tests.seed import AUDIO_BYTES, JOBS, job_item, seed_auth

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
JOBS_TABLE = "test-music-jobs"
AUTH_TABLE = "test-music-auth"
AUDIO_BUCKET = "test-music-audio"
REGION = "us-east-1"
# What template.yaml's Globals give every function; read when Logger and Metrics are created at import.
POWERTOOLS_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "music-generations",
    "POWERTOOLS_METRICS_NAMESPACE": "MusicApi",
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
}


def pytest_configure(config: pytest.Config) -> None:
    """Runs before test modules (and so the handlers' Powertools objects) are imported."""
    for name, value in POWERTOOLS_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Fake credentials, no profile or endpoint from the machine, fresh settings and clients per test."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CREDENTIAL_EXPIRATION", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("JOBS_TABLE_NAME", JOBS_TABLE)
    monkeypatch.setenv("AUTH_TABLE_NAME", AUTH_TABLE)
    monkeypatch.setenv("AUDIO_BUCKET_NAME", AUDIO_BUCKET)
    get_settings.cache_clear()
    reset_clients()
    yield
    get_settings.cache_clear()
    reset_clients()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real moto server (HTTP on loopback), shared by the session and reset by every test that uses it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass
class AwsStack:
    endpoint: str
    dynamodb: "DynamoDBClient"
    s3: "S3Client"
    table_name: str = JOBS_TABLE
    auth_table_name: str = AUTH_TABLE
    bucket: str = AUDIO_BUCKET
    jobs: list[dict[str, Any]] = field(default_factory=lambda: list(JOBS))

    def put_job(self, job: dict[str, Any]) -> None:
        self.dynamodb.put_item(TableName=self.table_name, Item=job_item(job))

    @property
    def auth(self) -> AuthRepository:
        return AuthRepository(self.dynamodb, self.auth_table_name)

    def delete_job(self, organization_id: str, user_id: str, job_id: str) -> None:
        self.dynamodb.delete_item(TableName=self.table_name, Key=job_key(organization_id, user_id, job_id))


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> AwsStack:
    """The stack's table (from template.yaml) and bucket on the moto server, seeded with tests/seed.py."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    reset_clients()
    reset = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")  # noqa: S310 - loopback
    with urllib.request.urlopen(reset, timeout=5):  # noqa: S310 - loopback URL built above
        pass
    dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=moto_endpoint)
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_endpoint)
    dynamodb.create_table(**create_table_arguments("JobsTable", JOBS_TABLE))
    dynamodb.create_table(**create_table_arguments("AuthTable", AUTH_TABLE))
    s3.create_bucket(Bucket=AUDIO_BUCKET)
    stack = AwsStack(endpoint=moto_endpoint, dynamodb=dynamodb, s3=s3)
    seed_auth(stack.auth)
    for job in stack.jobs:
        stack.put_job(job)
        if "track" in job:
            s3.put_object(Bucket=AUDIO_BUCKET, Key=job["track"]["audio_key"], Body=AUDIO_BYTES)
    return stack


@dataclass(frozen=True)
class FakeLambdaContext:
    """Shaped like the runtime's context object, with the fields Powertools reads."""

    function_name: str = "music-generations-GetGenerationFunction"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:music-generations-GetGenerationFunction"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/music-generations-GetGenerationFunction"
    log_stream_name: str = "2026/06/28/[$LATEST]0123456789abcdef0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    return event


def event_names() -> list[str]:
    return sorted(path.name for path in EVENTS_DIR.glob("*.json"))
