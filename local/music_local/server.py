"""The local API on http://127.0.0.1:<port>: a threading HTTP server in front of the local gateway."""

import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from music_local.gateway import HttpRequest, LocalGateway

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


class LocalApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, gateway: LocalGateway) -> None:
        self.gateway = gateway
        super().__init__(("127.0.0.1", port), _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    server: LocalApiServer
    server_version = "music-local"
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        started = time.perf_counter()
        target = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            request = HttpRequest(self.command, target.path, target.query, [], source_ip=self.client_address[0])
            response = self.server.gateway.too_large(request)
            self.close_connection = True
        else:
            body = self.rfile.read(length) if length > 0 else b""
            request = HttpRequest(
                method=self.command,
                path=target.path,
                query=target.query,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
            )
            response = self.server.gateway.handle(request)
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
        line = response.access_log or f"{self.command} {target.path} {response.status} {elapsed_ms:.1f}ms {request_id}"
        print(line, flush=True)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve  # noqa: N815 - stdlib names

    def log_message(self, format: str, *args: object) -> None:
        """Silence the stdlib's per-request stderr line; ``_serve`` prints a safer one."""


def serve(server: LocalApiServer) -> None:
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        sys.stdout.flush()
