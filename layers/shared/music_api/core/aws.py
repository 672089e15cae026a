"""boto3 clients and endpoints, created once per container on first use.

Endpoints come from botocore's own configuration (``AWS_ENDPOINT_URL`` and friends), so the same code talks to
AWS in Lambda and to the moto server locally. Tests point the environment elsewhere and forget the caches
(``forget_containers``); nothing needs ``importlib.reload``.
"""

import re
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.loaders import create_loader

from music_api.core.containers import per_container
from music_api.core.settings import aws_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@per_container
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


@per_container
def dynamodb_client() -> "DynamoDBClient":
    return aws_session().client("dynamodb", config=_bounded_config())


@per_container
def sqs_client() -> Any:
    """One attempt per send (at most connect + read timeout, 2 s): the dispatch sweeper sends again whatever
    fails, so a retry would only keep create's client waiting. Typed where it is used
    (``music_api.dispatch.queue.QueueClient``): the calls we make, no stubs package."""
    one_attempt = Config(retries={"mode": "standard", "total_max_attempts": 1})
    return aws_session().client("sqs", config=_bounded_config().merge(one_attempt))


# Bucket names S3 serves as <bucket>.s3.<region>...: botocore addresses any other name (dots, capitals) by path.
_VIRTUAL_HOSTABLE_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")


@per_container
def s3_bucket_url(bucket: str) -> str:
    """Where presigned URLs of the bucket point, as boto3's S3 client would address it (no client needed:
    presigning sends no request). An emulator on a bare host:port (AWS_ENDPOINT_URL) can only be addressed by
    path; in AWS, the regional virtual-host endpoint, because botocore presigns for the global s3.amazonaws.com
    unless told otherwise and S3 answers those with a redirect the signature does not survive."""
    settings = aws_settings()
    if settings.aws_endpoint_url:
        return f"{settings.aws_endpoint_url.rstrip('/')}/{bucket}"
    region = settings.aws_region
    host = f"s3.{region}.{_dns_suffix(region)}"
    return f"https://{bucket}.{host}" if _VIRTUAL_HOSTABLE_BUCKET.fullmatch(bucket) else f"https://{host}/{bucket}"


def _dns_suffix(region: str) -> str:
    """amazonaws.com, or the region's partition's own (amazonaws.com.cn, ...), from botocore's partition data."""
    partitions = create_loader().load_data("partitions")["partitions"]
    for partition in partitions:
        if region in partition["regions"] or re.fullmatch(partition["regionRegex"], region):
            return str(partition["outputs"]["dnsSuffix"])
    return str(partitions[0]["outputs"]["dnsSuffix"])


@per_container
def s3_client() -> Any:
    """The generation worker's uploads and deletes (the API functions only presign, which needs no client)."""
    return aws_session().client("s3", config=_bounded_config())
