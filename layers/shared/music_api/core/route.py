"""The one shape of every HTTP route: a route module declares its parse, its operation and its answer, and
``route(...)`` makes them its function's ``lambda_handler`` (docs/architecture.md, "Adding a route").

The frame owns what every route shares: Powertools' entry-point wiring, the trace id, the settings read first, the
200/202 body as JSON with the safety headers, and any failure as the contract's envelope (its error metric, its
log line, the Retry-After of a retryable error), never an escaped exception. No router: each function serves one
route (docs/architecture.md, "No Powertools event_handler").
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from music_api.core.errors import ApiError, InternalError
from music_api.core.events import trace_id_of
from music_api.core.http import ProxyResponse, error_response, json_response
from music_api.core.observability import entry_point, logger, metrics


class RouteSettings(Protocol):
    """What the frame reads of a route's settings: the Retry-After of a 503 without one of its own."""

    @property
    def unavailable_retry_after_seconds(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Answer:
    """A route's success: its status, its body, a polling hint and any header of its own (Location, ...)."""

    status: int
    body: BaseModel
    retry_after_seconds: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[..., ProxyResponse]


def route[S: RouteSettings, R, T](
    *,
    settings: Callable[[], S],
    parse: Callable[[Any], R],
    operation: Callable[[R, S, LambdaContext], T],
    answer: Callable[[T, S], Answer],
) -> Handler:
    """The route's ``lambda_handler``: settings (once per container), ``parse(event)`` (the client's errors),
    ``operation(request, settings, context)`` (the work), ``answer(result, settings)`` (what the client gets)."""

    def respond(event: Any, context: LambdaContext, trace_id: str) -> ProxyResponse:
        current = settings()
        result = operation(parse(event), current, context)
        success = answer(result, current)
        response = json_response(
            success.status, success.body.model_dump_json(), trace_id, retry_after_seconds=success.retry_after_seconds
        )
        response["headers"].update(success.headers)
        return response

    def lambda_handler(event: Any, context: LambdaContext) -> ProxyResponse:
        return answered(
            event,
            context,
            lambda trace_id: respond(event, context, trace_id),
            unavailable_retry_after=lambda: settings().unavailable_retry_after_seconds,
        )

    return entry_point(lambda_handler)


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
