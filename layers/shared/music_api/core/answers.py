"""How every route's handler ends: its own answer, or any failure as the envelope, never an escaped exception."""

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.errors import ApiError, InternalError
from music_api.core.events import trace_id_of
from music_api.core.http import ProxyResponse, error_response
from music_api.core.observability import logger, metrics


def answered(
    event: Mapping[str, Any],
    context: LambdaContext,
    work: Callable[[str], ProxyResponse],
    *,
    unavailable_retry_after: Callable[[], int],
) -> ProxyResponse:
    """``work(trace_id)``'s response; an ApiError as its envelope; anything else as a 500 whose cause is only
    logged. ``unavailable_retry_after`` is read only when a retryable error without a Retry-After of its own needs it
    (settings may have failed)."""
    trace_id = trace_id_of(event, context.aws_request_id)
    logger.set_correlation_id(trace_id)
    try:
        return work(trace_id)
    except ApiError as error:
        return error_answer(error, trace_id, unavailable_retry_after)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: log the cause, answer the envelope
        unexpected = InternalError("Unexpected error")
        unexpected.__cause__ = exc
        return error_answer(unexpected, trace_id, unavailable_retry_after)


def error_answer(error: ApiError, trace_id: str, unavailable_retry_after: Callable[[], int]) -> ProxyResponse:
    metrics.add_dimension(name="error_code", value=error.code)
    metrics.add_metric(name="ErrorReturned", unit=MetricUnit.Count, value=1)
    if error.status >= 500:
        # The cause and its chain (``raise ... from exc``) go to the log, never to the body.
        logger.error(str(error), exc_info=error, extra={"error_code": error.code})
    else:
        logger.info(str(error), extra={"error_code": error.code, "status_code": error.status, "details": error.details})
    retry_after = (error.retry_after_seconds or unavailable_retry_after()) if error.retryable else None
    return error_response(error, trace_id, retry_after_seconds=retry_after)
