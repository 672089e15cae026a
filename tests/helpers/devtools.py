"""Headless Chromium driven over its DevTools protocol, with a minimal standard-library WebSocket client.

Debian's ``chromium`` only: no browser download, no Playwright. Chromium listens on a loopback port it picks
itself (``--remote-debugging-port=0``) and writes it to ``DevToolsActivePort`` in its profile directory.
Background networking is switched off, so the browser itself reaches nothing; every wait is bounded.
"""

import base64
import json
import os
import shutil
import socket
import struct
import subprocess  # nosec B404 - starts Debian's chromium
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM_FLAGS = (
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
_OPCODE_TEXT, _OPCODE_CLOSE, _OPCODE_PING, _OPCODE_PONG, _FINAL = 0x1, 0x8, 0x9, 0xA, 0x80


class DevToolsError(Exception):
    """The browser answered a command with an error, or did not answer in time."""


class WebSocket:
    """Text messages over one client WebSocket (RFC 6455): masked frames out, plain frames in."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        self._socket = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self._socket.sendall(
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self._socket.recv(4096)
            if not chunk:
                raise DevToolsError("the browser closed the connection during the handshake")
            response += chunk
        head, _, self._buffer = response.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise DevToolsError(f"no WebSocket upgrade: {head.splitlines()[0]!r}")

    def send(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", _FINAL | _OPCODE_TEXT, 0x80 | length)
        elif length < 2**16:
            header = struct.pack("!BBH", _FINAL | _OPCODE_TEXT, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", _FINAL | _OPCODE_TEXT, 0x80 | 127, length)
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        self._socket.sendall(header + mask + masked)

    def receive(self) -> str:
        """The next text message, its fragments joined; pings are answered on the way."""
        message = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._read(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._read(8))
            payload = self._read(length)
            opcode = first & 0x0F
            if opcode == _OPCODE_CLOSE:
                raise DevToolsError("the browser closed the connection")
            if opcode == _OPCODE_PING:
                self._send_control(_OPCODE_PONG, payload)
                continue
            message += payload
            if first & _FINAL:
                return message.decode()

    def close(self) -> None:
        self._socket.close()

    def _send_control(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        self._socket.sendall(struct.pack("!BB", _FINAL | opcode, 0x80 | len(payload)) + mask + masked)

    def _read(self, count: int) -> bytes:
        while len(self._buffer) < count:
            chunk = self._socket.recv(max(65536, count - len(self._buffer)))
            if not chunk:
                raise DevToolsError("the browser closed the connection")
            self._buffer += chunk
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data


class Page:
    """One tab: commands by name, and every event received so far, in order."""

    def __init__(self, websocket: WebSocket, deadline: float) -> None:
        self._websocket = websocket
        self._deadline = deadline
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        command_id = self._next_id
        self._websocket.send(json.dumps({"id": command_id, "method": method, "params": params}))
        while True:
            message = self._next_message()
            if message.get("id") == command_id:
                if "error" in message:
                    raise DevToolsError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    def wait_for_event(self, method: str) -> dict[str, Any]:
        """The first ``method`` event, whether it already arrived while waiting for a command or comes later."""
        while True:
            for event in self.events:
                if event["method"] == method:
                    return event
            self._next_message()

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise DevToolsError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def _next_message(self) -> dict[str, Any]:
        if time.monotonic() > self._deadline:
            raise DevToolsError("the browser did not answer in time")
        message: dict[str, Any] = json.loads(self._websocket.receive())
        if "method" in message:
            self.events.append(message)
        return message


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        raise FileNotFoundError("Debian's chromium is missing: `make browser` installs it (apt-get, as root)")
    return found


@contextmanager
def headless_page(timeout_seconds: float, width: int = 1280, height: int = 900) -> Iterator[Page]:
    """A blank tab of a fresh headless Chromium (own profile, ``--no-sandbox`` when root), closed afterwards."""
    deadline = time.monotonic() + timeout_seconds
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        flags = [*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]
        if os.geteuid() == 0:
            flags.append("--no-sandbox")  # Chromium's sandbox refuses to run as root (CI runs as root)
        process = subprocess.Popen(  # noqa: S603 - Debian's chromium, fixed flags  # nosec B603
            [chromium(), *flags, "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            port = _devtools_port(Path(profile) / "DevToolsActivePort", process, deadline)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as response:  # nosec B310
                targets = json.load(response)
            (target,) = (target for target in targets if target["type"] == "page")
            websocket = WebSocket(target["webSocketDebuggerUrl"], timeout=max(1.0, deadline - time.monotonic()))
            try:
                yield Page(websocket, deadline)
            finally:
                websocket.close()
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _devtools_port(active_port_file: Path, process: subprocess.Popen[bytes], deadline: float) -> int:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DevToolsError(f"chromium exited with {process.returncode} before DevTools listened")
        lines = active_port_file.read_text().splitlines() if active_port_file.exists() else []
        if lines and lines[0].isdigit():
            return int(lines[0])
        time.sleep(0.05)
    raise DevToolsError("chromium did not open its DevTools port in time")
