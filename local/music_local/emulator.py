"""The AWS side of the local stack: a moto server on loopback, with the stack's tables, bucket and usage plans."""

import logging
import threading
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from music_admin.auth_store import AuthRepository
from music_admin.usage_plans import UsagePlans
from music_api.generations.store import job_item, job_key
from music_local.template import Template, Throttle

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

REGION = "us-east-1"
EMULATOR_CREDENTIAL = "local"
# The local REST API and its one stage, as method ARNs and usage plans name them.
API_ID = "local"
STAGE = "local"


class MotoServer:
    """moto in server mode: a real HTTP endpoint on 127.0.0.1 that boto3 reaches through AWS_ENDPOINT_URL."""

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.endpoint = ""

    def start(self) -> str:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access line per emulated AWS call
        application = _AtomicDynamoDb(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            "127.0.0.1", self._port, application, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.endpoint = f"http://{host!s}:{port}"
        return self.endpoint

    def reset(self) -> None:
        """Forget every resource (moto's own reset API)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")  # noqa: S310 - loopback
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - loopback URL built above # nosec B310
            pass

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()


class _AtomicDynamoDb:
    """One DynamoDB request at a time, as DynamoDB's own per-item atomicity requires.

    moto evaluates a ConditionExpression and applies the write as separate Python steps, and its threaded server
    runs requests concurrently: two conditional writes racing on one item could both pass (measured: 1 double
    win in 300 races of 6 writers). The job lifecycle rests on that guarantee, so the emulator must keep it.
    Other services (S3 downloads) stay concurrent.
    """

    def __init__(self, application: Callable[..., Iterable[bytes]]) -> None:
        self._application = application
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB_"):
            return self._application(environ, start_response)
        with self._lock:
            return list(self._application(environ, start_response))


@dataclass
class LocalAws:
    """The stack's resources on an emulator endpoint, with the clients an operator (or a test) writes with."""

    endpoint: str
    jobs_table: str = "music-jobs"
    auth_table: str = "music-auth"
    bucket: str = "music-audio"
    dynamodb: "DynamoDBClient" = field(init=False)
    s3: "S3Client" = field(init=False)
    apigateway: "APIGatewayClient" = field(init=False)
    usage_plan_ids: dict[str, str] = field(init=False, default_factory=dict)  # the stack's UsagePlanIds output
    default_usage_plan: str = field(init=False, default="")

    def __post_init__(self) -> None:
        # An emulator accepts any credentials; fixed ones keep the machine's own AWS configuration out of it.
        session = boto3.session.Session(
            aws_access_key_id=EMULATOR_CREDENTIAL, aws_secret_access_key=EMULATOR_CREDENTIAL, region_name=REGION
        )
        self.dynamodb = session.client("dynamodb", endpoint_url=self.endpoint)
        self.s3 = session.client("s3", endpoint_url=self.endpoint)
        self.apigateway = session.client("apigateway", endpoint_url=self.endpoint)

    @property
    def names(self) -> dict[str, str]:
        """Template logical id -> local resource name."""
        return {"JobsTable": self.jobs_table, "AuthTable": self.auth_table, "AudioBucket": self.bucket}

    @property
    def auth(self) -> AuthRepository:
        return AuthRepository(self.dynamodb, self.auth_table)

    @property
    def usage_plans(self) -> UsagePlans:
        return UsagePlans(self.apigateway, self.usage_plan_ids, self.default_usage_plan)

    def create_resources(self, template: Template) -> None:
        """The tables and usage plans as template.yaml defines them, and the audio bucket."""
        self.dynamodb.create_table(**template.create_table_arguments("JobsTable", self.jobs_table))
        self.dynamodb.create_table(**template.create_table_arguments("AuthTable", self.auth_table))
        self.s3.create_bucket(Bucket=self.bucket)
        for plan in template.usage_plans():
            stage: dict[str, Any] = {"apiId": API_ID, "stage": STAGE}
            if plan.method_throttles:
                stage["throttle"] = {method: _throttle(budget) for method, budget in plan.method_throttles.items()}
            arguments: dict[str, Any] = {"name": plan.name, "apiStages": [stage]}
            if plan.throttle is not None:
                arguments["throttle"] = _throttle(plan.throttle)
            if plan.quota is not None:
                arguments["quota"] = {"limit": plan.quota.limit, "period": plan.quota.period}
            self.usage_plan_ids[plan.name] = self.apigateway.create_usage_plan(**arguments)["id"]
        self.default_usage_plan = template.default_usage_plan()

    def put_job(self, job: dict[str, Any]) -> None:
        self.dynamodb.put_item(TableName=self.jobs_table, Item=job_item(job))

    def delete_job(self, organization_id: str, user_id: str, job_id: str) -> None:
        self.dynamodb.delete_item(TableName=self.jobs_table, Key=job_key(organization_id, user_id, job_id))


def _throttle(budget: Throttle) -> dict[str, Any]:
    return {"rateLimit": budget.rate, "burstLimit": budget.burst}
