"""What the requests to the moto server changed since the last look, so that the tests put back only that (the
items written, the bucket, the queues, the API keys) and build the stack again only when something beyond its data
changed: a table, queue, bucket, role, policy or usage plan.

Read from each request as botocore sends it: the service from its SigV4 credential scope, the operation from its
``X-Amz-Target`` (DynamoDB, SQS), its form's ``Action`` (IAM) or its method and path (S3, API Gateway). A request
counts whether or not it succeeded; anything not known to be a read or a data write counts as a change of structure.
"""

import io
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

# DynamoDB operations that change nothing, and those that write items (whose keys their bodies name).
DYNAMODB_READS = frozenset(
    {
        "BatchGetItem",
        "DescribeContinuousBackups",
        "DescribeEndpoints",
        "DescribeLimits",
        "DescribeTable",
        "DescribeTimeToLive",
        "GetItem",
        "ListTables",
        "ListTagsOfResource",
        "Query",
        "Scan",
        "TransactGetItems",
    }
)
_ITEM_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
# PartiQL writes name no key botocore-side: every item of every table is compared instead.
_UNNAMED_ITEM_WRITES = frozenset({"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"})
SQS_READS = frozenset(
    {"GetQueueAttributes", "GetQueueUrl", "ListDeadLetterSourceQueues", "ListQueueTags", "ListQueues"}
)
_SQS_MESSAGE_WRITES = frozenset(
    {
        "ChangeMessageVisibility",
        "ChangeMessageVisibilityBatch",
        "DeleteMessage",
        "DeleteMessageBatch",
        "PurgeQueue",
        "ReceiveMessage",
        "SendMessage",
        "SendMessageBatch",
    }
)
# The customer keys' gateway keys and their plan memberships: data the operator CLI and the tests write.
_API_KEY_PATH = re.compile(r"/apikeys(/[^/]+)?|/usageplans/[^/]+/keys(/[^/]+)?")
_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class Changes:
    """What changed: the keys (or whole items) written per table, and whether the bucket, the queues, the API keys
    or anything else changed. ``structure`` names the requests that changed more than data."""

    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    every_item: bool = False
    objects: bool = False
    queues: bool = False
    api_keys: bool = False
    structure: list[str] = field(default_factory=list)

    def dynamodb_request(self, environ: dict[str, Any]) -> None:
        operation = _target(environ)
        if operation in DYNAMODB_READS:
            return
        if operation in _UNNAMED_ITEM_WRITES:
            self.every_item = True
        elif operation in _ITEM_WRITES:
            for table, written in _written_items(operation, json.loads(_body(environ) or b"{}")):
                self.items.setdefault(table, []).append(written)
        else:
            self.structure.append(f"dynamodb {operation}")

    def sqs_request(self, environ: dict[str, Any]) -> None:
        operation = _target(environ)
        if operation in _SQS_MESSAGE_WRITES:
            self.queues = True
        elif operation not in SQS_READS:
            self.structure.append(f"sqs {operation}")

    def iam_request(self, environ: dict[str, Any]) -> None:
        action = parse_qs(_body(environ).decode()).get("Action", [""])[0]
        if not action.startswith(("Get", "List")):
            self.structure.append(f"iam {action}")

    def s3_request(self, environ: dict[str, Any]) -> None:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if method in _READ_METHODS:
            return
        bucket_only = path.strip("/").count("/") == 0
        deletes = method == "POST" and "delete" in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if not bucket_only or deletes:
            self.objects = True
        else:
            self.structure.append(f"s3 {method} {path}")

    def apigateway_request(self, environ: dict[str, Any]) -> None:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if method in _READ_METHODS:
            return
        if _API_KEY_PATH.fullmatch(path):
            self.api_keys = True
        else:
            self.structure.append(f"apigateway {method} {path}")

    def request(self, environ: dict[str, Any]) -> None:
        """Record what one request may change."""
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = scope.group(1) if scope else None
        recorders: dict[str | None, Callable[[dict[str, Any]], None]] = {
            "dynamodb": self.dynamodb_request,
            "sqs": self.sqs_request,
            "iam": self.iam_request,
            "s3": self.s3_request,
            "apigateway": self.apigateway_request,
        }
        if path.startswith("/moto-api/") or service == "sts":
            return  # moto's own reset (counted by MotoServer); STS only hands out credentials
        if service in recorders:
            recorders[service](environ)
        elif method not in _READ_METHODS:  # unsigned: presigned S3 URLs, downloads only in this project
            self.structure.append(f"{service or 'unsigned'} {method} {path}")


def _written_items(operation: str, body: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    """(table, item or key) for every item the write request names."""
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        yield body.get("TableName", ""), body.get("Item") or body.get("Key") or {}
    elif operation == "BatchWriteItem":
        for table, requests in body.get("RequestItems", {}).items():
            for request in requests:
                written = request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get("Key")
                yield table, written or {}
    else:
        for transacted in body.get("TransactItems", []):
            for kind in ("Put", "Update", "Delete"):
                if kind in transacted:
                    yield transacted[kind]["TableName"], transacted[kind].get("Item") or transacted[kind]["Key"]


class ChangeLog:
    """A WSGI middleware that records ``Changes`` of every request on its way to the application."""

    def __init__(self, application: Callable[..., Iterable[bytes]]) -> None:
        self._application = application
        self._lock = threading.Lock()
        self._changes = Changes()

    def take(self) -> Changes:
        """The changes since the last ``take``; recording starts afresh."""
        with self._lock:
            changes, self._changes = self._changes, Changes()
        return changes

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._lock:
            self._changes.request(environ)
        return self._application(environ, start_response)


def _target(environ: dict[str, Any]) -> str:
    """The operation a JSON-protocol request names in ``X-Amz-Target`` (``DynamoDB_20120810.PutItem``)."""
    return str(environ.get("HTTP_X_AMZ_TARGET", "")).rpartition(".")[2]


def _body(environ: dict[str, Any]) -> bytes:
    """The request's body, left in place for the application to read."""
    body: bytes = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    return body
