"""Logger and Metrics, one instance each per container, and the wiring every function's entry point shares.
Service name and namespace come from the environment (POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE), set
in template.yaml's Globals.

No Tracer: the X-Ray SDK would add to every cold start for a request that makes a single GetItem; Lambda and
API Gateway active tracing already time each request (docs/performance.md has the numbers).
"""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()


def entry_point[T](handler: Callable[[Any, LambdaContext], T]) -> Callable[..., T]:
    """``handler`` as a function's ``lambda_handler``: the Lambda context in every log line (never the event, which
    may hold a key), state cleared per invocation, metrics flushed at its end with the cold-start metric. Any
    context object will do (the local stack's and the tests' are their own), as Powertools reads it by attribute."""
    with_context = logger.inject_lambda_context(handler, log_event=False, clear_state=True)
    published: Callable[..., T] = metrics.log_metrics(with_context, capture_cold_start_metric=True)
    return published
