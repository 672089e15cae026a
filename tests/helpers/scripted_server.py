"""A loopback HTTP server whose answers a test scripts, and which records every request it receives.

Each path has a list of answers given in turn; the last one repeats. An answer may also be a function of the
server's clock, for a server whose answer depends on when it is asked (a rate budget that refills). A request for an
unscripted path is answered 599 and recorded, and the fixture fails the test for it.
"""

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

STALL_LIMIT_SECONDS = 10  # a stalled request is released at shutdown, or after this long


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: Any = None  # bytes are sent as they are, anything else as JSON
    headers: dict[str, str] = field(default_factory=dict)
    stall: bool = False  # never answer: hold the request until the server shuts down

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("Content-Type", "application/octet-stream")
        return json.dumps(self.body).encode(), "application/json"


Scripted = Answer | Callable[[float], Answer]  # an answer, or the answer at a time of the server's clock


@dataclass(frozen=True)
class Received:
    at: float  # on the server's clock
    method: str
    path: str  # with its query string
    headers: dict[str, str]
    body: bytes


class ScriptedServer:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.received: list[Received] = []
        self._scripts: dict[str, list[Scripted]] = {}
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.01,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, path: str, *answers: Scripted) -> None:
        """Answer requests for ``path`` (query string ignored) with ``answers`` in turn; the last one repeats."""
        with self._lock:
            self._scripts[path] = list(answers)

    def requests_to(self, path: str) -> list[Received]:
        with self._lock:
            return [request for request in self.received if urlsplit(request.path).path == path]

    def unscripted(self) -> list[Received]:
        with self._lock:
            return [request for request in self.received if urlsplit(request.path).path not in self._scripts]

    def answer_for(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        with self._lock:
            self.received.append(Received(self.clock(), method, path, headers, body))
            answers = self._scripts.get(urlsplit(path).path)
            if not answers:
                return Answer(599, {"unscripted": path})
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
            return answer if isinstance(answer, Answer) else answer(self.clock())

    def wait_for_release(self) -> None:
        self._released.wait(STALL_LIMIT_SECONDS)

    @contextmanager
    def running(self) -> Iterator["ScriptedServer"]:
        self._thread.start()
        try:
            yield self
        finally:
            self._released.set()
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)


def _handler(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms wait for the second

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            answer = server.answer_for(self.command, self.path, dict(self.headers.items()), body)
            if answer.stall:
                server.wait_for_release()
                return  # and close the connection without an answer
            content, content_type = answer.encoded()
            self.send_response(answer.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(content)))
            for name, value in answer.headers.items():
                if name != "Content-Type":
                    self.send_header(name, value)
            try:
                self.end_headers()
                self.wfile.write(content)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up first (a timeout under test): no one left to answer, nothing to report

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read ``received`` instead."""

    return Handler
