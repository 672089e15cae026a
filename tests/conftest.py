"""Shared fixtures: an isolated AWS environment, a moto server on loopback that enforces IAM, a Lambda context.

Helpers that tests import live in tests/helpers, never here."""

from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from music_local.emulator import LocalAws
from music_local.gateway import LambdaContext
from music_local.moto_process import MotoProcess
from music_local.stack import LOCAL_READ_TIMEOUT_SECONDS
from tests.helpers.aws import (
    AUDIO_BUCKET,
    AUTH_TABLE,
    IDEMPOTENCY_TABLE,
    JOBS_TABLE,
    REGION,
    reset_aws,
    share_botocore_models,
)
from tests.helpers.dynamodb_local import DynamoDbLocal
from tests.helpers.world import BACKENDS, MOTO, World


def pytest_configure(config: pytest.Config) -> None:
    share_botocore_models()


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Fake credentials, no profile or endpoint from the machine, fresh settings and clients per test."""
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_SESSION_TOKEN",
    ):
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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``@pytest.mark.dynamodb(*backends)``: the test runs once on each backend's tables ("moto", the default,
    and "dynamodb-local", AWS's DynamoDB Local); its id says which."""
    marker = metafunc.definition.get_closest_marker("dynamodb")
    if marker is not None and "dynamodb_backend" in metafunc.fixturenames:
        unknown = set(marker.args) - set(BACKENDS)
        if unknown or not marker.args:
            raise pytest.UsageError(f"pytest.mark.dynamodb takes backends of {BACKENDS}; got {marker.args}")
        metafunc.parametrize("dynamodb_backend", marker.args)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoProcess]:
    """A real moto server (HTTP on loopback) in a process of its own, outside coverage's tracer, shared by the
    session. A test that resets it has the ``aws`` fixture's stack built again for the next."""
    # The queues are purged before each test that sent to them; moto would allow that once a minute.
    server = MotoProcess({"MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR": "false"})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def world(moto_server: MotoProcess) -> Iterator[World]:
    """The ``aws`` fixture's stack, built once, its data put back before each test (tests/helpers/world.py).
    DynamoDB Local starts when a test first asks for it."""
    started: list[DynamoDbLocal] = []

    @cache
    def dynamodb_local() -> DynamoDbLocal:
        local = DynamoDbLocal()
        started.append(local)
        local.start()
        return local

    yield World(moto_server, dynamodb_local)
    for local in started:
        local.stop()


@pytest.fixture
def dynamodb_backend() -> str:
    """Where the ``aws`` fixture's tables are: moto, unless the test's ``dynamodb`` marker says otherwise."""
    return MOTO


@pytest.fixture
def aws(
    world: World, dynamodb_backend: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> LocalAws:
    """The stack's tables and queues (from template.yaml), bucket and execution roles on the moto server, which
    enforces IAM, loaded with the demo fixtures through the administrator's clients (``aws.dynamodb``, ``aws.s3``,
    ``aws.sqs``), exactly as loaded whatever an earlier test changed. The environment names the generation queue
    by its URL, as template.yaml gives it.

    The tables are moto's, or AWS's DynamoDB Local's for a test marked ``@pytest.mark.dynamodb("dynamodb-local")``
    (which checks no IAM policy): ``aws.dynamodb``, ``aws.client("dynamodb")`` and the functions' clients (through
    ``AWS_ENDPOINT_URL_DYNAMODB``) all reach them there.

    The environment's credentials, which a function invoked directly and any default boto3 client (the CLI's)
    sign with, are those of the role the test's ``runs_as`` marker names, else the administrator's."""
    stack = world.stack(dynamodb_backend)
    for name, value in stack.endpoint_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GENERATION_QUEUE_URL", stack.generation_queue_url)
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
