"""A local API Gateway (REST) driven by template.yaml: routes, the REQUEST authorizer, gateway responses.

For each request it does what API Gateway does for this stack: match a route (else MISSING_AUTHENTICATION_TOKEN),
read the authorizer's identity source (missing: UNAUTHORIZED, without calling the authorizer), run the
authorizer function or reuse its cached policy for the TTL, evaluate the policy against the method ARN
(ACCESS_DENIED when it does not allow), meter the request by the usage plan of the gateway key the authorizer
named (INVALID_API_KEY, QUOTA_EXCEEDED, THROTTLED: music_local.metering), then invoke the handler with a REST
v1 proxy event that carries the authorizer's context. Gateway-made errors are rendered from the template's
gateway responses.

Not emulated: the stage's own throttle (ThrottlingRateLimit: the local server is one process, whose throughput
the load tests measure), request validation, custom domains and base paths, authorizer
timeouts, the 29 s integration timeout, and execution logs. Access logs are the template's format, one line per
request on the server's output instead of in CloudWatch.
"""

import base64
import fnmatch
import importlib.util
import json
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, Final
from urllib.parse import parse_qsl

from music_local.emulator import ACCOUNT_ID, API_ID, REGION, STAGE
from music_local.iam import is_allowed
from music_local.metering import UsagePlanMeter
from music_local.template import GatewayResponse, Route, Template

LAYER_PACKAGE = "music_api"  # the shared layer's package (layers/shared), which every function imports

# API Gateway's response types and the status each answers unless its gateway response sets another
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
# A type without a gateway response of its own falls back to DEFAULT_4XX or DEFAULT_5XX, whose StatusCode, if
# set, replaces the status of every type that falls back to it.
RESPONSE_TYPE_STATUS: Final[Mapping[str, int]] = {
    response_type: status
    for status, response_types in (
        (400, ("BAD_REQUEST_BODY", "BAD_REQUEST_PARAMETERS")),
        (401, ("UNAUTHORIZED",)),
        (403, ("ACCESS_DENIED", "EXPIRED_TOKEN", "INVALID_API_KEY", "INVALID_SIGNATURE", "WAF_FILTERED")),
        (403, ("MISSING_AUTHENTICATION_TOKEN",)),
        (404, ("RESOURCE_NOT_FOUND",)),
        (413, ("REQUEST_TOO_LARGE",)),
        (415, ("UNSUPPORTED_MEDIA_TYPE",)),
        (429, ("QUOTA_EXCEEDED", "THROTTLED")),
        (500, ("API_CONFIGURATION_ERROR", "AUTHORIZER_CONFIGURATION_ERROR", "AUTHORIZER_FAILURE")),
        (504, ("INTEGRATION_FAILURE", "INTEGRATION_TIMEOUT")),
    )
    for response_type in response_types
}

# One invocation at a time across all functions: both run in this process, set their own environment variables
# in its os.environ, and write through the one Powertools logging handler of the service.
_INVOCATION_LOCK = threading.Lock()


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str  # as sent, percent-encoding intact, without the query string
    query: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    source_ip: str = "127.0.0.1"


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    access_log: str = ""  # the stage's access log line for this request (template.yaml's format), if it has one


@dataclass(frozen=True)
class LambdaContext:
    """What the Lambda runtime passes as ``context``, with the fields Powertools reads."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    log_group_name: str = ""
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


Handler = Callable[[dict[str, Any], LambdaContext], Any]


class LocalFunction:
    """A template function's handler, imported from its CodeUri and run in this process, in an execution
    environment of its own, as each Lambda function has: its own copy of the shared layer (so its cached
    settings, session, credentials and clients are its own) and its own environment variables, credentials
    included, set for its import (Lambda's INIT) and each invocation.

    INIT happens at the first invocation, as in Lambda (and ``sam local``): a function nobody calls costs nothing,
    and one whose import fails fails that invocation (the gateway answers 502, or 500 for the authorizer) and tries
    INIT again at the next."""

    def __init__(self, template: Template, logical_id: str, environment: Mapping[str, str]) -> None:
        self.name = logical_id
        self.environment = dict(environment)
        self._code = template.function_code(logical_id)
        self._handler: Handler | None = None

    @property
    def handler(self) -> Handler:
        """The handler, after INIT if it has not run yet."""
        with _INVOCATION_LOCK, _variables(self.environment):
            return self._initialized()

    def invoke(self, event: dict[str, Any]) -> Any:
        with _INVOCATION_LOCK, _variables(self.environment):
            return self._initialized()(event, LambdaContext(function_name=self.name))

    def _initialized(self) -> Handler:
        """INIT: the function's module and its own copy of the layer imported. Under the lock, in its variables."""
        if self._handler is None:
            code = self._code
            with _own_copy_of(LAYER_PACKAGE):
                spec = importlib.util.spec_from_file_location(
                    f"local_{self.name}.{code.module}", code.directory / f"{code.module}.py"
                )
                if spec is None or spec.loader is None:
                    raise ImportError(f"cannot load {self.name} from {code.directory}")
                module: ModuleType = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
            self._handler = getattr(module, code.handler)
        return self._handler


@contextmanager
def _variables(variables: Mapping[str, str]) -> Iterator[None]:
    """``variables`` in os.environ for the block, the previous values back after it. Only ever entered under
    _INVOCATION_LOCK: no two functions' variables are set at once."""
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _own_copy_of(package: str) -> Iterator[None]:
    """Imports of ``package`` in the block load a copy of it of their own; the process's copy, if any, is
    untouched and back in place afterwards."""

    def of_package(name: str) -> bool:
        return name == package or name.startswith(f"{package}.")

    shared = {name: sys.modules.pop(name) for name in list(sys.modules) if of_package(name)}
    try:
        yield
    finally:
        for name in [name for name in sys.modules if of_package(name)]:
            del sys.modules[name]  # the copy lives on through the function's module
        sys.modules.update(shared)


@dataclass(frozen=True)
class _Call:
    """One request on its way through the gateway."""

    request: HttpRequest
    route: Route
    path_parameters: dict[str, str]
    request_id: str
    received: datetime

    @property
    def method_arn(self) -> str:
        return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{STAGE}/{self.request.method}{self.request.path}"


@dataclass
class _Trace:
    """What a request's access log line is made of, gathered on its way through the gateway."""

    request_id: str
    received: datetime
    method: str
    source_ip: str
    started: float = field(default_factory=time.perf_counter)
    route: str = "-"
    authorizer_context: Mapping[str, str] = field(default_factory=dict)
    authorizer_status: str = "-"  # set when the authorizer ran, not for a cached policy
    authorizer_latency: str = "-"
    integration_latency: str = "-"


@dataclass
class _CachedPolicy:
    response: Mapping[str, Any]
    expires: float


class LocalGateway:
    def __init__(
        self,
        template: Template,
        functions: Mapping[str, LocalFunction],
        meter: UsagePlanMeter,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._routes = template.routes()
        self._authorizer = template.authorizer()
        self._responses = template.gateway_responses()
        self._api_key_required = template.api_keys_from_authorizer()
        self._access_log_format = template.access_log_format()
        # As SAM writes them (a "/" as "~1", the JSON Pointer escape the REST API's own property uses).
        self._binary_media_types = [
            str(media_type).replace("~1", "/").lower()
            for media_type in template.api_properties().get("BinaryMediaTypes", [])
        ]
        self._meter = meter
        self._functions = functions
        self._clock = clock
        self._cache: dict[tuple[str, ...], _CachedPolicy] = {}
        self._cache_lock = threading.Lock()
        self.authorizer_calls = 0

    def handle(self, request: HttpRequest) -> HttpResponse:
        trace = _Trace(str(uuid.uuid4()), datetime.now(UTC), request.method, request.source_ip)
        return self._logged(self._handle(request, trace), trace)

    def refuse(self, request: HttpRequest, response_type: str) -> HttpResponse:
        """The gateway response for a request the server refuses before routing: a body over API Gateway's 10 MB
        payload limit (REQUEST_TOO_LARGE), or one it cannot read (BAD_REQUEST_BODY, answered as DEFAULT_4XX)."""
        trace = _Trace(str(uuid.uuid4()), datetime.now(UTC), request.method, request.source_ip)
        return self._logged(self._gateway_response(response_type, trace.request_id, trace.received), trace)

    def _handle(self, request: HttpRequest, trace: _Trace) -> HttpResponse:
        request_id, received = trace.request_id, trace.received
        matched = self._route(request)
        if matched is None:
            return self._gateway_response("MISSING_AUTHENTICATION_TOKEN", request_id, received)
        call = _Call(request, *matched, request_id, received)
        trace.route = call.route.path
        identity = self._identity(request)
        if identity is None:
            return self._gateway_response("UNAUTHORIZED", request_id, received)
        decision = self._authorize(identity, call, trace)
        if isinstance(decision, str):
            return self._gateway_response(decision, request_id, received)
        trace.authorizer_context = {name: str(value) for name, value in (decision.get("context") or {}).items()}
        if (refusal := self._refusal(decision, call)) is not None:
            return self._gateway_response(refusal, request_id, received)
        started = time.perf_counter()
        try:
            result = self._functions[call.route.function].invoke(self._proxy_event(call, decision))
            return self._integration_response(result, request_id)
        except Exception:  # noqa: BLE001 - a failing function is the gateway's INTEGRATION_FAILURE, as on AWS
            return self._gateway_response("INTEGRATION_FAILURE", request_id, received)
        finally:
            trace.integration_latency = _milliseconds_since(started)

    # --- steps ------------------------------------------------------------------------------------------------

    def _route(self, request: HttpRequest) -> tuple[Route, dict[str, str]] | None:
        segments = request.path.split("/")
        for route in self._routes:
            if route.method == request.method and (parameters := route.match(segments)) is not None:
                return route, parameters
        return None

    def _identity(self, request: HttpRequest) -> tuple[str, ...] | None:
        """The identity source values; ``None`` when one is missing or empty (API Gateway answers 401)."""
        values = []
        for header in self._authorizer.identity_headers:
            found = [value for name, value in request.headers if name.lower() == header.lower()]
            if not found or not found[-1].strip():
                return None
            values.append(",".join(found))
        return tuple(values)

    def _authorize(self, identity: tuple[str, ...], call: _Call, trace: _Trace) -> Mapping[str, Any] | str:
        """The authorizer's response (cached per identity for the TTL), or the gateway response type to send."""
        now = self._clock()
        with self._cache_lock:
            cached = self._cache.get(identity)
            if cached is not None and cached.expires > now:
                return cached.response
        event = self._request_fields(call) | {"type": "REQUEST", "methodArn": call.method_arn}
        self.authorizer_calls += 1
        started = time.perf_counter()
        try:
            response = self._functions[self._authorizer.function].invoke(event)
        except Exception as error:  # noqa: BLE001 - the authorizer's verdict travels as an exception
            unauthorized = str(error) == "Unauthorized"
            trace.authorizer_status = "401" if unauthorized else "500"
            return "UNAUTHORIZED" if unauthorized else "AUTHORIZER_CONFIGURATION_ERROR"
        finally:
            trace.authorizer_latency = _milliseconds_since(started)
        trace.authorizer_status = "200"
        if not isinstance(response, Mapping) or not _is_authorizer_response(response):
            return "AUTHORIZER_CONFIGURATION_ERROR"
        if self._authorizer.ttl_seconds > 0:
            with self._cache_lock:
                self._cache[identity] = _CachedPolicy(response, now + self._authorizer.ttl_seconds)
        return response

    def _refusal(self, authorization: Mapping[str, Any], call: _Call) -> str | None:
        """What refuses an authorized caller: the policy (ACCESS_DENIED), then the usage plan of the gateway key
        the authorizer named (INVALID_API_KEY, QUOTA_EXCEEDED, THROTTLED); ``None`` when nothing does."""
        if not is_allowed(authorization, call.method_arn):
            return "ACCESS_DENIED"
        if self._api_key_required:
            method = f"{call.route.path}/{call.request.method}"
            return self._meter.admit(authorization.get("usageIdentifierKey"), method)
        return None

    def _request_fields(self, call: _Call) -> dict[str, Any]:
        """What REQUEST authorizer events and proxy events share."""
        request, route, received = call.request, call.route, call.received
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers:
            existing = next((key for key in multi_headers if key.lower() == name.lower()), name)
            multi_headers.setdefault(existing, []).append(value)
        query_pairs = parse_qsl(request.query, keep_blank_values=True)
        multi_query: dict[str, list[str]] = {}
        for name, value in query_pairs:
            multi_query.setdefault(name, []).append(value)
        user_agent = next((v for k, v in request.headers if k.lower() == "user-agent"), None)
        return {
            "resource": route.path,
            "path": request.path,
            "httpMethod": request.method,
            "headers": {name: values[-1] for name, values in multi_headers.items()},
            "multiValueHeaders": multi_headers,
            "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": call.path_parameters,
            "stageVariables": None,
            "requestContext": {
                "resourceId": "local",
                "resourcePath": route.path,
                "httpMethod": request.method,
                "requestTime": _clf(received),
                "requestTimeEpoch": int(received.timestamp() * 1000),
                "path": f"/{STAGE}{request.path}",
                "accountId": ACCOUNT_ID,
                "protocol": "HTTP/1.1",
                "stage": STAGE,
                "domainName": "127.0.0.1",
                "requestId": call.request_id,
                "identity": {"sourceIp": request.source_ip, "userAgent": user_agent},
                "apiId": API_ID,
            },
        }

    def _proxy_event(self, call: _Call, authorization: Mapping[str, Any]) -> dict[str, Any]:
        event = self._request_fields(call)
        context = {name: str(value) for name, value in (authorization.get("context") or {}).items()}
        event["requestContext"]["authorizer"] = {
            "principalId": authorization["principalId"],
            **context,
            "integrationLatency": 0,
        }
        content_type = next((value for name, value in call.request.headers if name.lower() == "content-type"), "")
        body, is_base64 = proxy_body(call.request.body, content_type, self._binary_media_types)
        return event | {"body": body, "isBase64Encoded": is_base64}

    def _integration_response(self, result: Any, request_id: str) -> HttpResponse:
        if not isinstance(result, Mapping) or not isinstance(result.get("statusCode"), int):
            raise TypeError("malformed Lambda proxy response")  # answered as INTEGRATION_FAILURE by handle()
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[str(name)] = ",".join(str(value) for value in values)
        headers["x-amzn-RequestId"] = request_id
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
        return HttpResponse(result["statusCode"], headers, raw)

    def _gateway_response(self, response_type: str, request_id: str, received: datetime) -> HttpResponse:
        return gateway_response(self._responses, response_type, request_id, received)

    def _logged(self, response: HttpResponse, trace: _Trace) -> HttpResponse:
        """``response`` with its access log line: the template's format with this request's ``$context`` values
        (JSON-escaped; one missing is ``-``, as in CloudWatch)."""
        if self._access_log_format is None:
            return response
        values = {f"authorizer.{name}": value for name, value in trace.authorizer_context.items()} | {
            "requestId": trace.request_id,
            "requestTime": _clf(trace.received),
            "httpMethod": trace.method,
            "resourcePath": trace.route,
            "status": str(response.status),
            "error.responseType": response.headers.get("x-amzn-ErrorType", "-"),
            "responseLatency": _milliseconds_since(trace.started),
            "integration.latency": trace.integration_latency,
            "authorizer.status": trace.authorizer_status,
            "authorizer.latency": trace.authorizer_latency,
            "responseLength": str(len(response.body)),
            "identity.sourceIp": trace.source_ip,
        }
        line = _CONTEXT_VARIABLE.sub(
            lambda variable: json.dumps(values.get(variable.group(1), "-"))[1:-1], self._access_log_format
        )
        return replace(response, access_log=line)


_CONTEXT_VARIABLE = re.compile(r"\$context\.([A-Za-z_][\w.]*)")


def gateway_response(
    responses: Mapping[str, GatewayResponse],
    response_type: str,
    request_id: str | None = None,
    received: datetime | None = None,
) -> HttpResponse:
    """What API Gateway answers for ``response_type`` with the template's ``responses``: the type's own gateway
    response, else DEFAULT_4XX/5XX, with the entry's status code or, when the entry sets none, the type's own."""
    request_id = request_id or str(uuid.uuid4())
    received = received or datetime.now(UTC)
    own_status = RESPONSE_TYPE_STATUS[response_type]
    configured = responses.get(response_type) or responses["DEFAULT_5XX" if own_status >= 500 else "DEFAULT_4XX"]
    body = configured.body_template.replace("$context.requestId", request_id).replace(
        "$context.requestTime", _clf(received)
    )
    headers = {
        "Content-Type": "application/json",
        "x-amzn-RequestId": request_id,
        "x-amzn-ErrorType": response_type,
    }
    for name, source in configured.headers.items():
        if len(source) >= 2 and source[0] == source[-1] == "'":
            headers[name] = source[1:-1]
        elif source == "context.requestId":
            headers[name] = request_id
    status = configured.status if configured.status is not None else own_status
    return HttpResponse(status, headers, body.encode("utf-8"))


def proxy_body(body: bytes, content_type: str, binary_media_types: list[str]) -> tuple[str | None, bool]:
    """The body and ``isBase64Encoded`` as API Gateway REST hands them to a Lambda proxy integration: base64 when the
    request's media type matches one of the API's binary media types (wildcards such as ``image/*`` included),
    otherwise UTF-8 text, each invalid sequence replaced by U+FFFD (docs/security.md, "Invalid UTF-8")."""
    if not body:
        return None, False
    media_type = content_type.split(";", 1)[0].strip().lower()
    if any(fnmatch.fnmatchcase(media_type, pattern) for pattern in binary_media_types):
        return base64.b64encode(body).decode("ascii"), True
    return body.decode("utf-8", errors="replace"), False


def _is_authorizer_response(response: Mapping[str, Any]) -> bool:
    return isinstance(response.get("principalId"), str) and isinstance(response.get("policyDocument"), Mapping)


def _milliseconds_since(started: float) -> str:
    return str(round((time.perf_counter() - started) * 1000))


def _clf(moment: datetime) -> str:
    """API Gateway's ``$context.requestTime`` format: ``28/Jun/2026:10:30:00 +0000``."""
    return moment.astimezone(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
