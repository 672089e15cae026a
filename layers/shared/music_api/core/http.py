"""API Gateway proxy responses. Every response, success or error, carries the same safety headers."""

from typing import Any

from music_api.core.clock import utc_now
from music_api.core.envelope import ErrorBody, ErrorResponse
from music_api.core.errors import ApiError

ProxyResponse = dict[str, Any]


def json_response(status: int, body: str, trace_id: str, *, retry_after_seconds: int | None = None) -> ProxyResponse:
    headers = {
        "Content-Type": "application/json",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "X-Request-Id": trace_id,
    }
    if retry_after_seconds is not None:
        headers["Retry-After"] = str(retry_after_seconds)
    return {"statusCode": status, "headers": headers, "body": body, "isBase64Encoded": False}


def error_response(error: ApiError, trace_id: str, *, retry_after_seconds: int | None = None) -> ProxyResponse:
    envelope = ErrorResponse(
        error=ErrorBody(
            code=error.code,
            message=error.message,
            system_message=error.system_message,
            type=error.type,
            status=error.status,
            details=error.details,
            trace_id=trace_id,
            timestamp=utc_now(),
        )
    )
    return json_response(error.status, envelope.model_dump_json(), trace_id, retry_after_seconds=retry_after_seconds)
