"""Shared fixtures: an isolated AWS environment, a moto server on loopback, a Lambda context, events."""

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from music_api.aws import reset_clients
from music_api.settings import get_settings
from music_local.emulator import LocalAws, MotoServer
from music_local.fixtures import load_fixtures
from music_local.template import default_template
from tests.seed import DEMO

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
JOBS_TABLE = "test-music-jobs"
AUTH_TABLE = "test-music-auth"
AUDIO_BUCKET = "test-music-audio"
REGION = "us-east-1"


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
def moto_server() -> Iterator[MotoServer]:
    """A real moto server (HTTP on loopback), shared by the session and reset by every test that uses it."""
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> LocalAws:
    """The stack's tables (from template.yaml) and bucket on the moto server, loaded with the demo fixtures."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)
    reset_clients()
    moto_server.reset()
    stack = LocalAws(moto_server.endpoint, jobs_table=JOBS_TABLE, auth_table=AUTH_TABLE, bucket=AUDIO_BUCKET)
    stack.create_resources(default_template())
    load_fixtures(DEMO, stack)
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
