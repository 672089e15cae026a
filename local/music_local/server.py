"""The local API on http://127.0.0.1:<port>: a threading HTTP server in front of the local gateway."""

import sys
import time
from dataclasses import replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from music_local.gateway import HttpRequest, HttpResponse, LocalGateway

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
MAX_LENGTH_DIGITS = 12  # a Content-Length far above the limit still reads as one


class LocalApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, gateway: LocalGateway) -> None:
        self.gateway = gateway
        super().__init__(("127.0.0.1", port), _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    """Every request the gateway's answer, in the contract's envelope: any method (an unknown one, TRACE included,
    finds no route, as on API Gateway), and the requests http.server cannot read, which it would answer in HTML."""

    server: LocalApiServer
    server_version = "music-local"
    protocol_version = "HTTP/1.1"
    # The head and the body go out as two writes: with Nagle's algorithm, the body waits for the client's delayed
    # ACK of the head, 40 ms on Linux, on every request of a kept-alive connection (measured: a list
    # request of a kept-alive connection took 66 ms, 22 ms without).
    disable_nagle_algorithm = True

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # http.server looks up do_<METHOD> for whatever method the request names
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        started = time.perf_counter()
        target = urlsplit(self.path)
        request = HttpRequest(self.command, target.path, target.query, [], source_ip=self.client_address[0])
        length = _content_length(self.headers.get("Content-Length"))
        if length is None:
            response = self.server.gateway.refuse(request, "BAD_REQUEST_BODY")
            self.close_connection = True
        elif length > MAX_BODY_BYTES:
            response = self.server.gateway.refuse(request, "REQUEST_TOO_LARGE")
            self.close_connection = True
        else:
            body = self.rfile.read(length) if length > 0 else b""
            request = replace(request, headers=list(self.headers.items()), body=body)
            response = self.server.gateway.handle(request)
        self._answer(response, started, target.path)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What http.server sends for a request line or headers it cannot parse: the gateway's envelope instead of
        its HTML page (a too long line or too many headers as REQUEST_TOO_LARGE, anything else as DEFAULT_4XX)."""
        started = time.perf_counter()
        path = urlsplit(getattr(self, "path", "") or "").path
        request = HttpRequest(getattr(self, "command", None) or "-", path, "", [], source_ip=self.client_address[0])
        too_large = code in (HTTPStatus.REQUEST_URI_TOO_LONG, HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
        response = self.server.gateway.refuse(request, "REQUEST_TOO_LARGE" if too_large else "BAD_REQUEST_BODY")
        self.close_connection = True
        self._answer(response, started, path)

    def _answer(self, response: HttpResponse, started: float, path: str) -> None:
        # http.server takes an unreadable request line for HTTP/0.9, whose answers have no status line or header.
        self.request_version = self.protocol_version
        payload = b"" if self.command == "HEAD" else response.body
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(payload)
        # The stage's access log line when the template has one, else a short line; neither holds the query string
        # or a header: no key and no signature is ever printed.
        elapsed_ms = (time.perf_counter() - started) * 1000
        request_id = response.headers.get("x-amzn-RequestId", "-")
        line = response.access_log or f"{self.command} {path} {response.status} {elapsed_ms:.1f}ms {request_id}"
        print(line, flush=True)

    def log_message(self, format: str, *args: object) -> None:
        """Silence the stdlib's per-request stderr line; ``_answer`` prints a safer one."""


def _content_length(header: str | None) -> int | None:
    """The Content-Length header's value (0 without one), or ``None`` when it is no plain decimal number: a number
    of any size must not become a Python int unchecked (over 4,300 digits, int() raises)."""
    if header is None:
        return 0
    text = header.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= MAX_LENGTH_DIGITS else None


def serve(server: LocalApiServer) -> None:
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        sys.stdout.flush()
