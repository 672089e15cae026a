"""The AWS side of the local stack: a moto server on loopback that enforces IAM, with the stack's tables, its
bucket, queues and usage plans, an administrator for the operator's and the tests' own writes (and the local gateway's
reads of usage plans), and one execution role per function.

moto enforces IAM once told to (its ``/moto-api/reset-auth`` API sets what ``INITIAL_NO_AUTH_ACTION_COUNT`` sets,
which moto reads from the environment only when it is first imported): it then checks every request's SigV4
signature against the access keys it issued and evaluates the caller's IAM policies by action. What it does
not check is in docs/security.md; ``execution_role_policy`` adapts a policy to it, presigned S3 requests,
which its check cannot read, skip it, and requests without a body are checked against the body they were
signed with.
"""

import copy
import json
import logging
import threading
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from moto import backends as moto_backends
from moto.core.authorization import ActionAuthenticatorMixin
from moto.iam.access_control import IAMRequestBase
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from music_admin.auth_store import AuthRepository
from music_admin.usage_plans import UsagePlans
from music_api.jobs.store import job_item, job_key
from music_local.changes import DYNAMODB_READS, ChangeLog, Changes
from music_local.template import Template, Throttle

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef
    from mypy_boto3_s3 import S3Client

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
# The local REST API and its one stage, as method ARNs and usage plans name them.
API_ID = "local"
STAGE = "local"
# Signs the requests that create the administrator, before IAM is enforced; refused by moto afterwards.
BOOTSTRAP_CREDENTIAL = "local"
ADMINISTRATOR = "local-administrator"
BATCH_WRITE_LIMIT = 25
LAMBDA_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _moto_api(endpoint: str, action: str, body: bytes = b"") -> None:
    request = urllib.request.Request(  # noqa: S310 - the emulator on loopback
        f"{endpoint}/moto-api/{action}", data=body, method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - loopback URL built above # nosec B310
        pass


def enforce_iam(endpoint: str) -> None:
    """From now on every request must be signed by a principal moto issued and be allowed by its policies."""
    _moto_api(endpoint, "reset-auth", b"0")


def _presigned_requests_skip_iam() -> None:
    """Let a presigned S3 request past moto's IAM check, which cannot read it: the check needs an Authorization
    header and fails a request without one with a 500, so no playback URL would download. moto never checks a
    presigned URL's signature or expiry anyway (docs/security.md); every other request stays checked."""
    check = ActionAuthenticatorMixin._authenticate_and_authorize_s3_action
    if getattr(check, "skips_presigned_requests", False):
        return

    def s3_check(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
        presigned = "X-Amz-Signature" in self.querystring or "Signature" in self.querystring  # SigV4 or SigV2
        if presigned and "Authorization" not in self.headers:
            return
        check(self, bucket_name, key_name)

    s3_check.skips_presigned_requests = True  # type: ignore[attr-defined]
    ActionAuthenticatorMixin._authenticate_and_authorize_s3_action = s3_check  # type: ignore[method-assign]


def _bodyless_requests_checked_as_signed() -> None:
    """moto checks the signature of a request without a body (API Gateway's GETs and DELETEs: reading usage
    plans and keys, taking a key out of a plan) against a payload it makes of the query parameters or, without
    any, of the headers, never against the empty body botocore signed: every such request would be refused as
    SignatureDoesNotMatch, the administrator's included. Check them against the empty body they were signed
    with; the signature and the caller's policies stay checked."""
    create = IAMRequestBase._create_aws_request
    if getattr(create, "checks_empty_bodies", False):
        return

    def create_aws_request(self: Any) -> Any:
        request = create(self)
        if not self._body and self._method in ("GET", "HEAD", "DELETE"):
            request.data = b""
        return request

    create_aws_request.checks_empty_bodies = True  # type: ignore[attr-defined]
    IAMRequestBase._create_aws_request = create_aws_request  # type: ignore[method-assign]


def _moto_modules_listed_once() -> None:
    """moto's server finds each request's backend among its own modules, which it lists from its package folder
    on every request (a directory listing and an ``isdir`` per entry, about 200): 6 % of the tests' moto process's
    CPU. The folder does not change while it runs: list it once."""
    if getattr(moto_backends.list_of_moto_modules, "listed_once", False):
        return
    modules = frozenset(moto_backends.list_of_moto_modules())

    def list_of_moto_modules() -> Iterable[str]:
        return modules

    list_of_moto_modules.listed_once = True  # type: ignore[attr-defined]
    moto_backends.list_of_moto_modules = list_of_moto_modules


class MotoServer:
    """moto in server mode: a real HTTP endpoint on 127.0.0.1 that boto3 reaches through AWS_ENDPOINT_URL.

    With ``publish_changes``, ``GET /_music_local/changes`` answers what ``changes`` would (as JSON): how
    ``music_local.moto_process`` tells the process that started it."""

    def __init__(self, port: int = 0, *, publish_changes: bool = False) -> None:
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.item_writes = ItemWrites()
        self._changes = ChangeLog(_AtomicDynamoDb(DomainDispatcherApplication(create_backend_app), self.item_writes))
        self._application = _PublishedChanges(self._changes) if publish_changes else self._changes
        self.endpoint = ""
        self.resets = 0  # how many times ``reset`` forgot everything: a stack built before is gone

    def start(self) -> str:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access line per emulated AWS call
        _presigned_requests_skip_iam()
        _bodyless_requests_checked_as_signed()
        _moto_modules_listed_once()
        self._server = make_server(
            "127.0.0.1", self._port, self._application, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.endpoint = f"http://{host!s}:{port}"
        return self.endpoint

    def reset(self) -> None:
        """Forget every resource and principal (moto's own reset API); IAM is not enforced until the next
        ``LocalAws.create_resources``, which needs to create the principals first."""
        reset_moto(self.endpoint)
        self.resets += 1

    def changes(self) -> Changes:
        """What the requests since the last call changed (music_local.changes)."""
        return self._changes.take()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()


def reset_moto(endpoint: str) -> None:
    """Forget every resource and principal of the moto server at ``endpoint``, IAM enforcement included."""
    _moto_api(endpoint, "reset-auth", b"inf")
    _moto_api(endpoint, "reset")


CHANGES_PATH = "/_music_local/changes"


class _PublishedChanges:
    """``GET CHANGES_PATH``: the changes the log took, as JSON; every other request goes on to the log."""

    def __init__(self, log: ChangeLog) -> None:
        self._log = log

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != CHANGES_PATH:
            return self._log(environ, start_response)
        body = json.dumps(asdict(self._log.take())).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


class ItemWrites:
    """How many DynamoDB write requests the moto server has answered: what the stack's own readers of the tables
    (its stream runner, its simulator) wait on instead of asking an idle emulator again every fraction of a second
    (an idle ``make run`` 6.2 → 2.0 % of a core; docs/testing.md)."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def bump(self) -> None:
        """One more write answered, or news for a waiter (it is stopping, a job was claimed): every waiter looks
        again."""
        with self._changed:
            self._count += 1
            self._changed.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """The count, as soon as it is not ``seen`` (at once the first time: pass -1), or after ``timeout``."""
        with self._changed:
            self._changed.wait_for(lambda: self._count != seen, timeout)
            return self._count


class _AtomicDynamoDb:
    """One DynamoDB request at a time, as DynamoDB's own per-item atomicity requires; each write counted once
    answered (``ItemWrites``).

    moto evaluates a ConditionExpression and applies the write as separate Python steps, and its threaded server
    runs requests concurrently: two conditional writes racing on one item could both pass (measured: 1 double
    win in 300 races of 6 writers). The job lifecycle rests on that guarantee, so the emulator must keep it.
    Other services (S3 downloads) stay concurrent.
    """

    def __init__(self, application: Callable[..., Iterable[bytes]], writes: ItemWrites) -> None:
        self._application = application
        self._writes = writes
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith("DynamoDB_"):
            return self._application(environ, start_response)
        with self._lock:
            answer = list(self._application(environ, start_response))
        if target.rpartition(".")[2] not in DYNAMODB_READS:
            self._writes.bump()
        return answer


@cache
def _session() -> boto3.session.Session:
    """One session for every client made here: it loads each service's model once, not once per client."""
    return boto3.session.Session(region_name=REGION)


def _client(service: str, endpoint: str, credentials: "Credentials") -> Any:
    return _session().client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
    )


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def environment(self) -> dict[str, str]:
        """As Lambda hands a function its role's credentials: in the environment botocore reads first."""
        variables = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        return variables | ({"AWS_SESSION_TOKEN": self.session_token} if self.session_token else {})


def execution_role_policy(policy: dict[str, Any]) -> dict[str, Any]:
    """A function's policy as moto can evaluate it: the same statements and actions, with DynamoDB resources
    widened to ``*``. moto authorizes a DynamoDB request against the resource ``*`` (it does not say which table
    the request names), so a statement naming a table would allow nothing. S3 resources stay: moto checks them
    by bucket and key.

    AWS governs a transaction's items by their own actions (a Put by ``PutItem``, an Update by ``UpdateItem``);
    moto asks for ``dynamodb:TransactWriteItems`` instead, so a policy that allows both is given that action."""
    statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
    evaluated = [_as_moto_evaluates(statement) for statement in statements]
    allowed = {action for statement in evaluated if statement["Effect"] == "Allow" for action in _actions(statement)}
    if {"dynamodb:PutItem", "dynamodb:UpdateItem"} <= allowed:
        evaluated.append({"Effect": "Allow", "Action": "dynamodb:TransactWriteItems", "Resource": "*"})
    return policy | {"Statement": evaluated}


def _actions(statement: dict[str, Any]) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def _as_moto_evaluates(statement: dict[str, Any]) -> dict[str, Any]:
    if all(str(action).startswith("dynamodb:") for action in _actions(statement)):
        return statement | {"Resource": "*"}
    return statement


@dataclass
class LocalAws:
    """The stack's resources on an emulator endpoint, with the clients an operator (or a test) writes with.

    Made right after the emulator starts or is reset, while IAM is not enforced yet: it creates the
    administrator its own clients sign with. ``create_resources`` then creates the rest and enforces IAM.
    """

    endpoint: str
    jobs_table: str = "music-jobs"
    auth_table: str = "music-auth"
    bucket: str = "music-audio"
    idempotency_table: str = "music-idempotency"
    generation_queue: str = "music-generations"
    dead_letter_queue: str = "music-generations-dlq"
    webhook_queue: str = "music-webhooks"
    webhook_dead_letter_queue: str = "music-webhooks-dlq"
    webhook_stream_failure_queue: str = "music-webhooks-stream-failures"
    jobs_stream_arn: str = field(init=False, default="")  # once the jobs table exists
    administrator: Credentials = field(init=False)
    function_credentials: dict[str, Credentials] = field(init=False, default_factory=dict)
    dynamodb: "DynamoDBClient" = field(init=False)
    s3: "S3Client" = field(init=False)
    apigateway: "APIGatewayClient" = field(init=False)
    sqs: Any = field(init=False)
    queue_urls: dict[str, str] = field(init=False, default_factory=dict)  # logical id -> URL, once created
    usage_plan_ids: dict[str, str] = field(init=False, default_factory=dict)  # the stack's UsagePlanIds output
    default_usage_plan: str = field(init=False, default="")
    dynamodb_endpoint: str = field(init=False, default="")  # the tables' emulator, when not ``endpoint``'s

    def __post_init__(self) -> None:
        # Explicit credentials keep the machine's own AWS configuration out of the emulator.
        iam = _client("iam", self.endpoint, Credentials(BOOTSTRAP_CREDENTIAL, BOOTSTRAP_CREDENTIAL))
        iam.create_user(UserName=ADMINISTRATOR)
        everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        iam.put_user_policy(UserName=ADMINISTRATOR, PolicyName="everything", PolicyDocument=json.dumps(everything))
        key = iam.create_access_key(UserName=ADMINISTRATOR)["AccessKey"]
        self.administrator = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
        self.dynamodb = self.dynamodb_client()
        self.s3 = self.client("s3")
        self.apigateway = self.client("apigateway")
        self.sqs = self.client("sqs")

    def client(self, service: str, credentials: Credentials | None = None) -> Any:
        """A client signing as ``credentials`` (by default the administrator), e.g. for a test that hooks into
        its calls or acts as one of the functions' roles."""
        return _client(service, self.endpoint_of(service), credentials or self.administrator)

    def endpoint_of(self, service: str) -> str:
        """Where ``service``'s requests go: the tables may be on an emulator of their own (``with_tables_on``)."""
        return self.dynamodb_endpoint if service == "dynamodb" and self.dynamodb_endpoint else self.endpoint

    def with_tables_on(self, dynamodb_endpoint: str) -> "LocalAws":
        """The same stack with its tables on another DynamoDB (AWS's DynamoDB Local, which checks no IAM policy);
        the bucket, queues, roles and usage plans stay where they are. The tables are ``create_tables``' to make."""
        moved = copy.copy(self)
        moved.dynamodb_endpoint = dynamodb_endpoint
        moved.dynamodb = moved.dynamodb_client()
        return moved

    def endpoint_environment(self) -> dict[str, str]:
        """The variables that point botocore at this stack: one endpoint, or DynamoDB's of its own."""
        tables = {"AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_endpoint} if self.dynamodb_endpoint else {}
        return {"AWS_ENDPOINT_URL": self.endpoint} | tables

    def dynamodb_client(self) -> "DynamoDBClient":
        client: DynamoDBClient = self.client("dynamodb")
        return client

    @property
    def queue_names(self) -> dict[str, str]:
        """Template logical id -> local queue name."""
        return {
            "GenerationQueue": self.generation_queue,
            "GenerationDeadLetterQueue": self.dead_letter_queue,
            "WebhookQueue": self.webhook_queue,
            "WebhookDeadLetterQueue": self.webhook_dead_letter_queue,
            "WebhookStreamFailureQueue": self.webhook_stream_failure_queue,
        }

    @property
    def names(self) -> dict[str, str]:
        """Template logical id -> what ``Ref`` gives: a table's or bucket's name, a queue's URL."""
        return self.table_names | {"AudioBucket": self.bucket} | self.queue_urls

    @property
    def arns(self) -> dict[str, str]:
        """Template logical id -> the local resource's ARN."""
        return {
            "JobsTable": f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{self.jobs_table}",
            "AuthTable": f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{self.auth_table}",
            "IdempotencyTable": f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{self.idempotency_table}",
            "AudioBucket": f"arn:aws:s3:::{self.bucket}",
            "JobsTable.StreamArn": self.jobs_stream_arn,
        } | {logical_id: f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}" for logical_id, name in self.queue_names.items()}

    @property
    def generation_queue_url(self) -> str:
        return self.queue_urls["GenerationQueue"]

    @property
    def auth(self) -> AuthRepository:
        return AuthRepository(self.dynamodb, self.auth_table)

    @property
    def usage_plans(self) -> UsagePlans:
        return UsagePlans(self.apigateway, self.usage_plan_ids, self.default_usage_plan)

    def create_resources(self, template: Template) -> None:
        """The tables, queues and usage plans as template.yaml defines them, the audio bucket, and each function's
        execution role with the policy template.yaml gives it; then IAM is enforced."""
        self.create_tables(template)
        self.s3.create_bucket(Bucket=self.bucket)
        for queue in template.queues_in_creation_order():
            queue_arguments = template.create_queue_arguments(queue, self.queue_names[queue], self.arns)
            self.queue_urls[queue] = self.sqs.create_queue(**queue_arguments)["QueueUrl"]
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
        iam, sts = self.client("iam"), self.client("sts")
        for function in template.resources_of_type("AWS::Serverless::Function"):
            self.function_credentials[function] = self._execution_role(
                iam, sts, function, template.function_policies(function, self.arns)
            )
        enforce_iam(self.endpoint)

    def create_tables(self, template: Template) -> None:
        """The tables as template.yaml defines them."""
        for logical_id, name in self.table_names.items():
            table = self.dynamodb.create_table(**template.create_table_arguments(logical_id, name))["TableDescription"]
            if logical_id == "JobsTable":
                self.jobs_stream_arn = table.get("LatestStreamArn", "")

    @property
    def table_names(self) -> dict[str, str]:
        """Template logical id -> local table name."""
        return {"JobsTable": self.jobs_table, "AuthTable": self.auth_table, "IdempotencyTable": self.idempotency_table}

    def _execution_role(self, iam: Any, sts: Any, function: str, policies: list[dict[str, Any]]) -> Credentials:
        """A role with the function's policies, and its credentials as Lambda would hand them over."""
        role = f"{function}Role"
        arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST_POLICY))["Role"]["Arn"]
        for index, policy in enumerate(policies):
            document = json.dumps(execution_role_policy(policy))
            iam.put_role_policy(RoleName=role, PolicyName=f"{function}Policy{index}", PolicyDocument=document)
        assumed = sts.assume_role(RoleArn=arn, RoleSessionName=function)["Credentials"]
        return Credentials(assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"])

    def put_jobs(self, jobs: Iterable[dict[str, Any]]) -> None:
        self.put_items(job_item(job) for job in jobs)

    def put_items(self, items: Iterable[dict[str, Any]]) -> None:
        """Items as the jobs table stores them (jobs, tracks), written in batches."""
        batch_write(self.dynamodb, self.jobs_table, [{"PutRequest": {"Item": item}} for item in items])

    def delete_job(self, organization_id: str, user_id: str, job_id: str) -> None:
        self.dynamodb.delete_item(TableName=self.jobs_table, Key=job_key(organization_id, user_id, job_id))


def batch_write(client: "DynamoDBClient", table: str, requests: Sequence["WriteRequestTypeDef"]) -> None:
    """Every put or delete of ``requests`` on ``table``, 25 to a call (BatchWriteItem's most), until none is left
    unprocessed: a fixture's hundreds of items in a dozen requests rather than one request each."""
    for start in range(0, len(requests), BATCH_WRITE_LIMIT):
        unprocessed: Any = {table: requests[start : start + BATCH_WRITE_LIMIT]}
        while unprocessed:
            unprocessed = client.batch_write_item(RequestItems=unprocessed).get("UnprocessedItems")


def _throttle(budget: Throttle) -> dict[str, Any]:
    return {"rateLimit": budget.rate, "burstLimit": budget.burst}
