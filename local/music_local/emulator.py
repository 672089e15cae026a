"""The AWS side of the local stack: a moto server on loopback, with the stack's tables and bucket."""

import logging
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from moto.server import ThreadedMotoServer

from music_admin.auth_store import AuthRepository
from music_api.core.dynamodb import to_item
from music_api.generations.store import job_key
from music_local.template import Template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

REGION = "us-east-1"
EMULATOR_CREDENTIAL = "local"


class MotoServer:
    """moto in server mode: a real HTTP endpoint on 127.0.0.1 that boto3 reaches through AWS_ENDPOINT_URL."""

    def __init__(self, port: int = 0) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.endpoint = ""

    def start(self) -> str:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access line per emulated AWS call
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self.endpoint

    def reset(self) -> None:
        """Forget every resource (moto's own reset API)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")  # noqa: S310 - loopback
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - loopback URL built above # nosec B310
            pass

    def stop(self) -> None:
        self._server.stop()


@dataclass
class LocalAws:
    """The stack's resources on an emulator endpoint, with the clients an operator (or a test) writes with."""

    endpoint: str
    jobs_table: str = "music-jobs"
    auth_table: str = "music-auth"
    bucket: str = "music-audio"
    dynamodb: "DynamoDBClient" = field(init=False)
    s3: "S3Client" = field(init=False)

    def __post_init__(self) -> None:
        # An emulator accepts any credentials; fixed ones keep the machine's own AWS configuration out of it.
        self._session = boto3.session.Session(
            aws_access_key_id=EMULATOR_CREDENTIAL, aws_secret_access_key=EMULATOR_CREDENTIAL, region_name=REGION
        )
        self.dynamodb = self.dynamodb_client()
        self.s3 = self._session.client("s3", endpoint_url=self.endpoint)

    def dynamodb_client(self) -> "DynamoDBClient":
        """A DynamoDB client of the operator's own, e.g. for a test that hooks into its calls."""
        return self._session.client("dynamodb", endpoint_url=self.endpoint)

    @property
    def names(self) -> dict[str, str]:
        """Template logical id -> local resource name."""
        return {"JobsTable": self.jobs_table, "AuthTable": self.auth_table, "AudioBucket": self.bucket}

    @property
    def auth(self) -> AuthRepository:
        return AuthRepository(self.dynamodb, self.auth_table)

    def create_resources(self, template: Template) -> None:
        """The tables as template.yaml defines them, and the audio bucket."""
        self.dynamodb.create_table(**template.create_table_arguments("JobsTable", self.jobs_table))
        self.dynamodb.create_table(**template.create_table_arguments("AuthTable", self.auth_table))
        self.s3.create_bucket(Bucket=self.bucket)

    def put_job(self, job: dict[str, Any]) -> None:
        item = job_key(job["organization_id"], job["user_id"], job["id"]) | to_item(job)
        self.dynamodb.put_item(TableName=self.jobs_table, Item=item)

    def delete_job(self, organization_id: str, user_id: str, job_id: str) -> None:
        self.dynamodb.delete_item(TableName=self.jobs_table, Key=job_key(organization_id, user_id, job_id))
