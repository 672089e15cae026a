"""The local API Gateway in-process: routing, the identity source, the policy cache, gateway responses."""

import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from music_api.authorizer.keys import digest_of, key_id_of
from music_api.core.errors import GATEWAY_RESPONSES
from music_local.emulator import LocalAws
from music_local.gateway import (
    RESPONSE_TYPE_STATUS,
    HttpRequest,
    HttpResponse,
    LocalGateway,
    gateway_response,
    proxy_body,
)
from music_local.metering import UsagePlanMeter
from music_local.server import LocalApiServer
from music_local.stack import local_functions
from music_local.template import local_template
from tests.helpers.seed import ALICE, ALICE_KEY, BOB_KEY, ORG, SEED_JOB_ID

SEED_PATH = f"/v1/music/{ORG}/generations/{SEED_JOB_ID}"
TTL = local_template().authorizer().ttl_seconds
ALICE_KEY_ID = key_id_of(digest_of(ALICE_KEY))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gateway(aws: LocalAws, clock: Clock) -> LocalGateway:
    template = local_template()
    meter = UsagePlanMeter(aws.apigateway, clock=clock)
    return LocalGateway(template, local_functions(template, aws), meter, clock=clock)


Send = Callable[..., HttpResponse]


@pytest.fixture
def send(gateway: LocalGateway) -> Send:
    def run(path: str = SEED_PATH, key: str | None = ALICE_KEY, method: str = "GET", query: str = "") -> HttpResponse:
        headers = [("Host", "127.0.0.1"), ("User-Agent", "pytest")]
        if key is not None:
            headers.append(("X-API-Key", key))
        return gateway.handle(HttpRequest(method, path, query, headers))

    return run


def body(response: HttpResponse) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(response.body)
    return parsed


def events_reaching(gateway: LocalGateway, function: str) -> list[dict[str, Any]]:
    """The events the gateway invokes ``function`` with from now on (the function still answers them)."""
    seen: list[dict[str, Any]] = []
    handler_function = gateway._functions[function]
    original = handler_function.handler

    def spy(event: dict[str, Any], context: Any) -> Any:
        seen.append(event)
        return original(event, context)

    handler_function._handler = spy
    return seen


def test_a_valid_request_reaches_the_handler_with_the_authorizers_context(send: Send) -> None:
    response = send()

    assert response.status == 200
    assert body(response)["id"] == SEED_JOB_ID
    assert response.headers["X-Request-Id"] == f"req_{response.headers['x-amzn-RequestId']}"


def test_the_policy_is_cached_per_key_for_the_ttl(send: Send, gateway: LocalGateway, clock: Clock) -> None:
    assert send().status == 200
    assert send(path=f"/v1/music/{ORG}/generations/mgen_queued0001").status == 200
    assert gateway.authorizer_calls == 1
    assert send(key=BOB_KEY).status == 404  # another key: its own authorizer call, its own user
    assert gateway.authorizer_calls == 2

    clock.now += TTL + 1

    assert send().status == 200
    assert gateway.authorizer_calls == 3


def test_a_revoked_key_works_until_its_cached_policy_expires(send: Send, aws: LocalAws, clock: Clock) -> None:
    """The revocation promise: at most AuthorizerTtlSeconds, never longer."""
    assert send().status == 200
    aws.auth.revoke_api_key(ALICE, "key_07b504ed80634ade")

    clock.now += TTL - 1
    assert send().status == 200
    clock.now += 2
    response = send()

    assert response.status == 401
    assert body(response)["error"]["code"] == "AUTHENTICATION_REQUIRED"


@pytest.mark.parametrize("key", [None, "", "   "])
def test_a_missing_identity_is_401_without_calling_the_authorizer(
    send: Send, gateway: LocalGateway, key: str | None
) -> None:
    response = send(key=key)

    assert response.status == 401
    assert gateway.authorizer_calls == 0


def test_gateway_responses_are_rendered_from_the_template(send: Send) -> None:
    response = send(key=None)
    error = body(response)["error"]

    request_id = response.headers["x-amzn-RequestId"]
    assert response.headers["X-Request-Id"] == request_id
    assert error["trace_id"] == f"req_{request_id}"
    assert re.fullmatch(r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000", error["timestamp"])
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        (f"/v1/music/{ORG}/generations/mgen_2f8b1c4e%2F9a7d", 400, "VALIDATION_ERROR"),
        (f"/v1/music/{ORG}/generations/mgen_2f8b1c4e9a7d/", 404, "RESOURCE_NOT_FOUND"),
        (f"/v1/music/{ORG}//generations/{SEED_JOB_ID}", 404, "RESOURCE_NOT_FOUND"),
        (f"/v1/music/{ORG}/generations/", 404, "RESOURCE_NOT_FOUND"),
        (f"/v1/music/{ORG}/generations/..", 400, "VALIDATION_ERROR"),
        (f"/v1/music/{ORG}/generations/MGEN_2F8B1C4E9A7D", 400, "VALIDATION_ERROR"),
        # A line break in the path reaches the authorizer's methodArn raw or encoded: the handler refuses the id.
        (f"/v1/music/{ORG}/generations/mgen_2f8b1c4e%0A9a7d", 400, "VALIDATION_ERROR"),
        (f"/v1/music/{ORG}/generations/mgen_2f8b1c4e\n9a7d", 400, "VALIDATION_ERROR"),
        (f"/v1/music/{ORG}/generations/mgen_2f8b1c4e\r\n9a7d", 400, "VALIDATION_ERROR"),
        # The method ARN keeps the path as sent, so an encoded organization id fails the policy: closed, not open.
        (f"/v1/music/org%5Fabc123/generations/{SEED_JOB_ID}", 403, "ORGANIZATION_ACCESS_DENIED"),
    ],
)
def test_paths_are_matched_by_segment_and_decoded_like_api_gateway(
    send: Send, path: str, status: int, code: str | None
) -> None:
    response = send(path=path)

    assert response.status == status
    if code is not None:
        assert body(response)["error"]["code"] == code


def test_an_authorizer_failure_is_a_503_with_retry_after(send: Send, aws: LocalAws) -> None:
    aws.dynamodb.delete_table(TableName=aws.auth_table)

    response = send()

    assert response.status == 503
    assert response.headers["Retry-After"] == "1"
    assert body(response)["error"]["code"] == "SERVICE_UNAVAILABLE"


def test_a_failing_function_is_an_integration_failure(
    send: Send, gateway: LocalGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    send()  # the policy is cached; now break the handler
    handler_function = gateway._functions["GetGenerationFunction"]
    monkeypatch.setattr(handler_function, "_handler", lambda event, context: {"no": "statusCode"})

    response = send()

    assert response.status == 502
    assert body(response)["error"]["code"] == "SERVICE_UNAVAILABLE"


FAILING_INIT = """
from pathlib import Path

here = Path(__file__).parent
with (here / "inits").open("a") as inits:
    inits.write("INIT\\n")
if (here / "broken").exists():
    raise RuntimeError("the import fails")
from get_generation.app import lambda_handler
"""


def test_a_function_is_initialized_at_its_first_invocation_and_again_after_a_failed_init(
    send: Send, gateway: LocalGateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in Lambda: INIT runs at the first invocation (a function nobody calls is never imported), and an INIT
    that failed fails its invocation and runs again at the next."""
    function = gateway._functions["GetGenerationFunction"]
    monkeypatch.setattr(function, "_code", replace(function._code, directory=tmp_path))
    (tmp_path / f"{function._code.module}.py").write_text(FAILING_INIT)
    (tmp_path / "broken").touch()
    inits = tmp_path / "inits"

    assert send(path=f"/v1/music/{ORG}/generations").status == 200  # another function
    assert not inits.exists()

    failed = send()
    assert (failed.status, body(failed)["error"]["code"]) == (502, "SERVICE_UNAVAILABLE")
    (tmp_path / "broken").unlink()
    assert send().status == 200
    assert send().status == 200
    assert inits.read_text() == "INIT\n" * 2


def test_the_query_string_and_multi_value_headers_reach_the_event(gateway: LocalGateway) -> None:
    seen = events_reaching(gateway, "GetGenerationFunction")
    headers = [("X-API-Key", ALICE_KEY), ("Accept", "a"), ("accept", "b")]
    gateway.handle(HttpRequest("GET", SEED_PATH, "a=1&a=2&b=", headers))

    (event,) = seen
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert event["multiValueHeaders"]["Accept"] == ["a", "b"]
    assert event["requestContext"]["authorizer"]["user_id"] == ALICE
    assert event["pathParameters"] == {"organization_id": ORG, "job_id": SEED_JOB_ID}


@pytest.mark.parametrize(
    "key",
    [None, "", "frd_test_notakey", ALICE_KEY[:-1] + "0", "frd_test_FoRgP5mQb30Y4SqPXdR6PbFWPn0IIi3QOqwe"],
    ids=["missing", "empty", "malformed", "bad-checksum", "revoked"],
)
def test_the_handler_is_never_invoked_for_a_bad_key(gateway: LocalGateway, send: Send, key: str | None) -> None:
    invoked: list[object] = []
    handler_function = gateway._functions["GetGenerationFunction"]
    handler_function._handler = lambda event, context: invoked.append(event)

    assert send(key=key).status == 401
    assert invoked == []


@pytest.mark.parametrize("response_type", sorted(RESPONSE_TYPE_STATUS))
def test_every_gateway_response_type_keeps_its_status_and_says_it_in_the_body(response_type: str) -> None:
    """A default with a status code would re-label every type without an entry (a WAF block or a 415 as 400);
    each type answers the status the template gives it, or else its own, and the body never says otherwise."""
    entry = GATEWAY_RESPONSES.get(response_type)
    expected = entry.error.status if entry is not None else RESPONSE_TYPE_STATUS[response_type]

    response = gateway_response(local_template().gateway_responses(), response_type)

    assert response.status == expected
    assert body(response)["error"]["status"] == expected
    assert response.headers["x-amzn-ErrorType"] == response_type


def test_each_response_carries_its_access_log_line_in_the_templates_format(send: Send) -> None:
    served, cached = send(), send()
    missing = send(key=None)

    first, second, refused = (json.loads(response.access_log) for response in (served, cached, missing))
    assert set(first) == set(json.loads(local_template().access_log_format() or "{}"))
    assert first["requestId"] == served.headers["x-amzn-RequestId"]
    assert (first["status"], first["errorType"], first["keyId"], first["userId"]) == ("200", "-", ALICE_KEY_ID, ALICE)
    assert first["authorizerStatus"] == "200"
    assert int(first["latencyMs"]) >= int(first["integrationLatencyMs"]) >= 0
    assert (second["authorizerStatus"], second["authorizerLatencyMs"]) == ("-", "-")  # the cached policy
    assert (refused["status"], refused["errorType"], refused["keyId"]) == ("401", "UNAUTHORIZED", "-")
    assert ALICE_KEY not in served.access_log + cached.access_log


def test_a_body_that_is_not_utf8_reaches_create_as_text_with_replacement_characters_and_is_refused(
    gateway: LocalGateway,
) -> None:
    """As API Gateway REST without binary media types: the bytes decoded as UTF-8, each invalid sequence U+FFFD."""
    seen = events_reaching(gateway, "CreateGenerationFunction")
    raw = b'{"engine": "studio", "prompt": "caf\xe9 \xff\xfe piano", "duration_seconds": 30}'
    headers = [("X-API-Key", ALICE_KEY), ("Content-Type", "application/json")]

    response = gateway.handle(HttpRequest("POST", f"/v1/music/{ORG}/generations", "", headers, body=raw))

    (event,) = seen
    assert (event["isBase64Encoded"], "caf\ufffd \ufffd\ufffd piano" in event["body"]) == (False, True)
    assert response.status == 400
    assert body(response)["error"]["code"] == "INVALID_JSON"


@pytest.mark.parametrize(
    ("content_type", "binary_media_types", "expected"),
    [
        ("application/json", [], ("caf\ufffd", False)),
        ("application/json; charset=utf-8", ["application/json"], ("Y2Fm6Q==", True)),
        ("image/PNG", ["image/*"], ("Y2Fm6Q==", True)),
        ("application/json", ["image/*"], ("caf\ufffd", False)),
    ],
)
def test_a_body_is_base64_only_when_its_media_type_is_a_binary_one(
    content_type: str, binary_media_types: list[str], expected: tuple[str, bool]
) -> None:
    assert proxy_body(b"caf\xe9", content_type, binary_media_types) == expected
    assert proxy_body(b"", content_type, binary_media_types) == (None, False)


@pytest.fixture
def server(gateway: LocalGateway) -> Iterator[tuple[str, int]]:
    """The local API's HTTP server in front of the gateway, on a free loopback port."""
    api = LocalApiServer(0, gateway)
    thread = threading.Thread(target=api.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host, port = api.server_address[:2]
    yield str(host), int(port)
    api.shutdown()
    api.server_close()
    thread.join(timeout=5)


def raw_exchange(address: tuple[str, int], request: bytes) -> tuple[int, dict[str, str], bytes]:
    """One request written as bytes (whatever http.client would refuse to send), its response parsed."""
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
            head, _, rest = received.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            if length and len(rest) >= int(length.group(1)):
                break
    head, _, rest = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, rest


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "FOO"])
def test_any_method_the_api_does_not_have_is_the_envelopes_404(server: tuple[str, int], method: str) -> None:
    request = f"{method} {SEED_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {ALICE_KEY}\r\n\r\n"

    status, headers, payload = raw_exchange(server, request.encode())

    assert (status, headers["Content-Type"], headers["x-amzn-ErrorType"]) == (
        404,
        "application/json",
        "MISSING_AUTHENTICATION_TOKEN",
    )
    assert json.loads(payload)["error"]["code"] == "RESOURCE_NOT_FOUND"


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GARBAGE\r\n\r\n", 400, "BAD_REQUEST"),
        (f"GET {SEED_PATH} HTTP/9.9\r\n\r\n".encode(), 400, "BAD_REQUEST"),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 413, "REQUEST_TOO_LARGE"),
        (b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 101 + b"\r\n", 413, "REQUEST_TOO_LARGE"),
        (f"POST {SEED_PATH} HTTP/1.1\r\nContent-Length: {'9' * 5000}\r\n\r\n".encode(), 400, "BAD_REQUEST"),
        (f"POST {SEED_PATH} HTTP/1.1\r\nContent-Length: -1\r\n\r\n".encode(), 400, "BAD_REQUEST"),
        (f"POST {SEED_PATH} HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n".encode(), 400, "BAD_REQUEST"),
    ],
    ids=["request-line", "http-version", "long-uri", "many-headers", "huge-length", "negative-length", "bad-length"],
)
def test_a_request_http_server_cannot_read_is_answered_in_the_envelope(
    server: tuple[str, int], request_bytes: bytes, status: int, code: str
) -> None:
    answered_status, headers, payload = raw_exchange(server, request_bytes)

    assert (answered_status, headers["Content-Type"]) == (status, "application/json")
    assert json.loads(payload)["error"]["code"] == code
