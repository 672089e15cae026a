"""boto3 clients, created once per container on first use.

Endpoints come from botocore's own configuration (``AWS_ENDPOINT_URL`` and friends), so the same code talks to
AWS in Lambda and to the moto server locally. Tests point the environment elsewhere and clear the caches;
nothing needs ``importlib.reload``.
"""

from functools import cache
from typing import TYPE_CHECKING, Literal

import boto3
from botocore.config import Config

from music_api.core.settings import aws_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


@cache
def aws_session() -> boto3.session.Session:
    return boto3.session.Session(region_name=aws_settings().aws_region)


def _bounded_config() -> Config:
    """Short timeouts and few retries: a request must end well inside API Gateway's 29 s integration limit."""
    settings = aws_settings()
    return Config(
        connect_timeout=settings.aws_connect_timeout_seconds,
        read_timeout=settings.aws_read_timeout_seconds,
        retries={"mode": "standard", "total_max_attempts": settings.aws_max_attempts},
        tcp_keepalive=True,
    )


@cache
def dynamodb_client() -> "DynamoDBClient":
    return aws_session().client("dynamodb", config=_bounded_config())


@cache
def s3_client() -> "S3Client":
    # Presigning is local (no request is sent). SigV4 on the regional virtual-host endpoint is what makes a URL
    # valid in every region: botocore presigns for the global s3.amazonaws.com unless addressing is "virtual",
    # and S3 answers those with a redirect the signature does not survive. An emulator on a bare
    # host:port (AWS_ENDPOINT_URL) can only be addressed by path.
    settings = aws_settings()
    addressing_style: Literal["path", "virtual"] = "path" if settings.aws_endpoint_url else "virtual"
    config = _bounded_config().merge(
        Config(
            signature_version="s3v4",
            s3={"addressing_style": addressing_style, "us_east_1_regional_endpoint": "regional"},
        )
    )
    return aws_session().client("s3", config=config)
