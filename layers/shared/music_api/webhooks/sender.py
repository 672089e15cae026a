"""One delivery attempt: a POST to an address vetted for this attempt, and what the receiver answered.

The connection goes to the vetted address itself (TLS with the URL's host name for SNI and certificate checks,
Host the URL's), so no second DNS lookup can swap in another address; redirects are answers, never followed;
the whole attempt, connect to last byte read, ends at a deadline; at most MAX_RESPONSE_BYTES are read.
"""

import contextlib
import http.client
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from music_api.webhooks.url import WebhookTarget

MAX_RESPONSE_BYTES: Final = 4096
USER_AGENT: Final = "freddy-music-webhooks/1"


@dataclass(frozen=True, slots=True)
class Answer:
    """``status`` is the receiver's HTTP status, ``None`` when none came (``error`` then says what happened)."""

    status: int | None
    error: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.status == 410


class _PinnedHttp(http.client.HTTPConnection):
    def __init__(self, target: WebhookTarget, address: str, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHttps(http.client.HTTPSConnection):
    def __init__(self, target: WebhookTarget, address: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def post(
    target: WebhookTarget,
    address: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    timeout_seconds: float = 10,
) -> Answer:
    """POST ``body`` to ``target`` at ``address``; any failure to get a status is an ``Answer`` with an error."""
    connection: http.client.HTTPConnection = (
        _PinnedHttps(target, address, timeout_seconds, ssl.create_default_context())
        if target.scheme == "https"
        else _PinnedHttp(target, address, timeout_seconds)
    )
    # A receiver that trickles bytes would keep each read under the socket timeout: cut the whole attempt.
    cut = threading.Event()
    deadline = threading.Timer(timeout_seconds, _abort, args=(connection, cut))
    deadline.start()
    try:
        connection.putrequest("POST", target.target, skip_host=True, skip_accept_encoding=True)
        for name, value in {
            "Host": target.host_header,
            "User-Agent": USER_AGENT,
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            **headers,
        }.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)  # never more; the rest is dropped with the connection
        return Answer(response.status)
    except (OSError, http.client.HTTPException, ValueError) as error:
        return Answer(None, "timeout" if cut.is_set() or isinstance(error, TimeoutError) else type(error).__name__)
    finally:
        deadline.cancel()
        connection.close()


def _abort(connection: http.client.HTTPConnection, cut: threading.Event) -> None:
    cut.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed: nothing to cut
            sock.shutdown(socket.SHUT_RDWR)
