"""The AWS emulator of a launched local API, reached as the operator its banner names (the emulator enforces IAM,
so only the banner's credentials may read and write behind the API's back)."""

import re
from dataclasses import dataclass

import boto3

from music_local.emulator import REGION
from music_local.launcher import LaunchedApi

OPERATOR = re.compile(
    r"operator: AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+) music-api-admin --endpoint-url (http://127\.0\.0\.1:\d+)"
)
STORAGE = re.compile(r"AWS emulator \(moto server\): \S+  tables (\S+), \S+; bucket (\S+)")


@dataclass(frozen=True)
class LocalOperator:
    session: boto3.Session  # signs as the operator: ``session.client(service, endpoint_url=endpoint)``
    endpoint: str
    jobs_table: str
    bucket: str


def local_operator(api: LaunchedApi) -> LocalOperator:
    banner = "".join(api.output)
    operator, storage = OPERATOR.search(banner), STORAGE.search(banner)
    assert operator is not None, "the banner names the operator's credentials"
    assert storage is not None, "the banner names the tables and the bucket"
    access_key_id, secret_access_key, endpoint = operator.groups()
    jobs_table, bucket = storage.groups()
    session = boto3.Session(
        aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key, region_name=REGION
    )
    return LocalOperator(session, endpoint, jobs_table, bucket)
