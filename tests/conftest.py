"""Shared fixtures: an isolated AWS environment, a moto server on loopback that enforces IAM, a Lambda context.

Helpers that tests import live in tests/helpers, never here."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from music_local.emulator import LocalAws, MotoServer
from music_local.fixtures import load_fixtures
from music_local.gateway import LambdaContext
from music_local.stack import LOCAL_READ_TIMEOUT_SECONDS
from music_local.template import local_template
from tests.helpers.aws import (
    AUDIO_BUCKET,
    AUTH_TABLE,
    DEAD_LETTER_QUEUE,
    GENERATION_QUEUE,
    IDEMPOTENCY_TABLE,
    JOBS_TABLE,
    REGION,
    reset_aws,
)
from tests.helpers.seed import DEMO


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
    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", IDEMPOTENCY_TABLE)
    monkeypatch.setenv("API_KEY_ENVIRONMENT", "test")  # the local stack's stage, whose keys are all frd_test_
    # moto is one Python process beside the tests: on a busy two-core box a Query can outlast Lambda's 1.5 s
    # (a 503 that is the emulator's, not the code's). test_faults pins the production budget where it matters.
    monkeypatch.setenv("AWS_READ_TIMEOUT_SECONDS", LOCAL_READ_TIMEOUT_SECONDS)
    reset_aws()
    yield
    reset_aws()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """A real moto server (HTTP on loopback), shared by the session and reset by every test that uses it."""
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> LocalAws:
    """The stack's tables and queues (from template.yaml), bucket and execution roles on the moto server, which
    enforces IAM, loaded with the demo fixtures through the administrator's clients (``aws.dynamodb``, ``aws.s3``,
    ``aws.sqs``). The environment names the generation queue by its URL, as template.yaml gives it.

    The environment's credentials, which a function invoked directly and any default boto3 client (the CLI's)
    sign with, are those of the role the test's ``runs_as`` marker names, else the administrator's."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)
    moto_server.reset()
    stack = LocalAws(
        moto_server.endpoint,
        jobs_table=JOBS_TABLE,
        auth_table=AUTH_TABLE,
        bucket=AUDIO_BUCKET,
        idempotency_table=IDEMPOTENCY_TABLE,
        generation_queue=GENERATION_QUEUE,
        dead_letter_queue=DEAD_LETTER_QUEUE,
    )
    stack.create_resources(local_template())
    monkeypatch.setenv("GENERATION_QUEUE_URL", stack.generation_queue_url)
    load_fixtures(DEMO, stack)
    runs_as = request.node.get_closest_marker("runs_as")
    credentials = stack.function_credentials[runs_as.args[0]] if runs_as else stack.administrator
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    for name, value in credentials.environment().items():
        monkeypatch.setenv(name, value)
    reset_aws()
    return stack


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext(function_name="music-generations-GetGenerationFunction")
