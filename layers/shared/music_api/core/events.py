"""What every function reads from an API Gateway event before anything else: the request's trace id."""

import re
from collections.abc import Mapping
from typing import Any, Final

REQUEST_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9-]{1,64}")


def trace_id_of(event: object, fallback_request_id: str) -> str:
    """``req_`` + API Gateway's request id, the id in the body, the X-Request-Id header and every log line.

    Never raises: it runs before a handler's ``try``, on an event that a direct invocation can make anything."""
    request_id = mapping(mapping(event).get("requestContext")).get("requestId")
    if not isinstance(request_id, str) or REQUEST_ID_PATTERN.fullmatch(request_id) is None:
        request_id = fallback_request_id
    return f"req_{request_id}"


def mapping(value: object) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one: events are read without trusting their shape."""
    return value if isinstance(value, Mapping) else {}
