"""What the sync and the async client share about HTTP: settings, headers, paths, and reading answers."""

import json
import math
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from freddy_music._version import __version__
from freddy_music.errors import (
    APIConnectionError,
    APIError,
    ConfigurationError,
    MissingAPIKeyError,
    UnexpectedResponseError,
    error_class,
)

DEFAULT_BASE_URL = "https://api.aitronos.com"
API_KEY_VARIABLE = "FREDDY_API_KEY"
BASE_URL_VARIABLE = "FREDDY_BASE_URL"
ORGANIZATION_VARIABLE = "FREDDY_ORGANIZATION_ID"
DEFAULT_REQUEST_TIMEOUT_SECONDS = 30.0
USER_AGENT = f"freddy-music/{__version__}"
# Sent with every request; the API key goes only to the API, never to the storage a playback URL points at.
COMMON_HEADERS = {"User-Agent": USER_AGENT}
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
_ERROR_TEXT_LIMIT = 200


def resolve_api_key(api_key: str | None) -> str:
    key = api_key if api_key is not None else os.environ.get(API_KEY_VARIABLE, "")
    if not key:
        raise MissingAPIKeyError(f"no API key: set {API_KEY_VARIABLE}, or pass one to the client (api_key=...)")
    return key


def resolve_organization(organization_id: str | None) -> str | None:
    return organization_id or os.environ.get(ORGANIZATION_VARIABLE) or None


def resolve_base_url(base_url: str | None) -> str:
    url = base_url or os.environ.get(BASE_URL_VARIABLE) or DEFAULT_BASE_URL
    if not url.startswith(("https://", "http://")):
        raise ConfigurationError(f"the base URL must start with https:// or http://, not {url!r}")
    return url.rstrip("/")


def api_headers(api_key: str) -> dict[str, str]:
    return {"X-API-Key": api_key, "Accept": "application/json"}


def new_idempotency_key() -> str:
    """A key for one logical create: random (uuid4), within the API's ``^[A-Za-z0-9_.:-]{8,128}$``."""
    return f"freddy-music-{uuid.uuid4().hex}"


def generations_path(organization_id: str) -> str:
    """The organization's generations: where jobs are created and listed (the id escaped: one path segment)."""
    return f"/v1/music/{quote(organization_id, safe='')}/generations"


def job_path(organization_id: str, job_id: str) -> str:
    """The job's path, each id escaped so that it stays one path segment whatever it holds."""
    return f"{generations_path(organization_id)}/{quote(job_id, safe='')}"


def track_path(organization_id: str, track_id: str) -> str:
    """The track's path, each id escaped so that it stays one path segment whatever it holds."""
    return f"/v1/music/{quote(organization_id, safe='')}/tracks/{quote(track_id, safe='')}"


def engines_path(organization_id: str) -> str:
    return f"/v1/music/{quote(organization_id, safe='')}/engines"


def cancel_path(organization_id: str, job_id: str) -> str:
    return f"{job_path(organization_id, job_id)}/cancel"


def list_path(organization_id: str, *, status: str | None, limit: int, offset: int) -> str:
    """The list's path and query: the page at ``offset`` of at most ``limit`` jobs, optionally of one status."""
    query = {"limit": str(limit), "offset": str(offset)} | ({"status": status} if status is not None else {})
    return f"{generations_path(organization_id)}?{urlencode(query)}"


@contextmanager
def connection_errors(action: str) -> Iterator[None]:
    """httpx's transport errors (refused, reset, timed out) as :class:`APIConnectionError`."""
    try:
        yield
    except httpx.TransportError as error:
        raise APIConnectionError(f"{action}: {error!r}") from error


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """The Retry-After header in seconds (it may be a number of seconds or an HTTP date); None when absent or
    unreadable."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def decoded_body(response: httpx.Response) -> Any:
    """The JSON body of a success; the typed :class:`APIError` of anything else."""
    if not response.is_success:
        raise api_error(response)
    try:
        return response.json()
    except ValueError as error:
        raise UnexpectedResponseError(
            f"HTTP {response.status_code} with a body that is not JSON: {_start_of(response.text)!r}"
        ) from error


def api_error(response: httpx.Response) -> APIError:
    status = response.status_code
    retry_after = retry_after_seconds(response.headers)
    envelope = _envelope(response.content)
    if envelope is None:
        return error_class(status)(
            status=status,
            code=f"HTTP_{status}",
            message=_start_of(response.text) or response.reason_phrase,
            trace_id=response.headers.get("X-Request-Id"),
            retry_after=retry_after,
            headers=response.headers,
        )
    code = str(envelope.get("code") or f"HTTP_{status}")
    details = envelope.get("details")
    return error_class(status, code)(
        status=status,
        code=code,
        message=str(envelope.get("message") or response.reason_phrase),
        system_message=_text_or_none(envelope.get("system_message")),
        type=_text_or_none(envelope.get("type")),
        details=details if isinstance(details, dict) else {},
        trace_id=_text_or_none(envelope.get("trace_id")) or response.headers.get("X-Request-Id"),
        timestamp=_text_or_none(envelope.get("timestamp")),
        retry_after=retry_after,
        headers=response.headers,
    )


def _envelope(content: bytes) -> dict[str, Any] | None:
    """The ``error`` object of the contract's envelope, if the body is one."""
    try:
        body = json.loads(content)
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _start_of(text: str) -> str:
    return " ".join(text.split())[:_ERROR_TEXT_LIMIT]
