"""The REQUEST authorizer: X-API-Key in, an IAM policy for the caller's organizations out.

API Gateway caches the result per key for the authorizer TTL, and applies the cached policy to every route the
key calls, so the policy names every organization the user belongs to, never just the one in this request.
A request for another organization then fails the policy at the gateway (403), and the handler never runs.
"""

from collections.abc import Mapping
from typing import Any, NoReturn

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.authorizer.keys import parse_key
from music_api.authorizer.policy import authorizer_policy
from music_api.authorizer.settings import authorizer_settings
from music_api.authorizer.store import ApiKeyStore
from music_api.core.aws import dynamodb_client
from music_api.core.clock import utc_now
from music_api.core.errors import ApiError, InternalError
from music_api.core.events import mapping, trace_id_of
from music_api.core.observability import entry_point, logger, metrics

API_KEY_HEADER = "x-api-key"


class UnauthorizedError(Exception):
    """API Gateway answers 401 (the UNAUTHORIZED gateway response) to exactly this message, "Unauthorized"."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def authorize(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The same trace id the handler will use for this request, so one id finds both functions' logs.
    logger.set_correlation_id(trace_id_of(event, context.aws_request_id))
    try:
        return _authorize(mapping(event))  # a direct invocation's event may be anything: no key in it, 401
    except UnauthorizedError:
        raise
    except Exception as error:
        # Store unavailable, corrupt item, bad settings: any other error is the gateway's
        # AUTHORIZER_CONFIGURATION_ERROR (503 in our gateway responses), never a 401 for a valid key. Only the
        # catalogue's errors leave: an unexpected one becomes InternalError, its cause in the log.
        _count("error")
        failure = error if isinstance(error, ApiError) else InternalError("Unexpected error")
        logger.error(str(error), exc_info=error, extra={"error_code": failure.code})
        if failure is error:
            raise
        raise failure from error


lambda_handler = entry_point(authorize)


def _authorize(event: Mapping[str, Any]) -> dict[str, Any]:
    parsed = parse_key(_single_api_key(event) or "")
    if parsed is None:
        _reject("malformed")  # missing, empty, repeated, wrong format or bad checksum: no lookup at all
    settings = authorizer_settings()
    if parsed.environment != settings.api_key_environment:
        # A test key on a live stage (or the reverse) is refused before any lookup, whatever the store holds.
        _reject("wrong_environment", parsed.key_id, decision="wrong_environment")
    api_key = ApiKeyStore(dynamodb_client(), settings.auth_table_name).get_api_key(parsed.digest)
    if api_key is None:
        _reject("unknown", parsed.key_id)
    if not api_key.is_usable_at(utc_now()):
        _reject("revoked" if api_key.status == "revoked" else "expired", api_key.key_id)

    organization_ids = api_key.organization_ids
    policy = authorizer_policy(
        str(event.get("methodArn", "")),
        principal_id=api_key.user_id,
        organization_ids=organization_ids,
        context={
            "user_id": api_key.user_id,
            "key_id": api_key.key_id,
            "organization_ids": ",".join(organization_ids),
        },
    )
    # The usage plan of this gateway key meters the request (the API's key source is AUTHORIZER); cached with
    # the policy per X-API-Key value, which is exactly one customer key.
    policy["usageIdentifierKey"] = api_key.gateway_key_value
    _count("allow" if organization_ids else "deny")
    logger.info(
        "API key accepted",
        extra={"key_id": api_key.key_id, "user_id": api_key.user_id, "organizations": len(organization_ids)},
    )
    return policy


def _single_api_key(event: Mapping[str, Any]) -> str | None:
    """The X-API-Key value, whatever the header name's case; ``None`` unless exactly one value was sent."""
    values: list[str] = []
    multi = event.get("multiValueHeaders")
    if isinstance(multi, Mapping):
        for name, header_values in multi.items():
            if isinstance(name, str) and name.lower() == API_KEY_HEADER and isinstance(header_values, list):
                values.extend(str(value) for value in header_values)
    else:
        headers = event.get("headers")
        if isinstance(headers, Mapping):
            values.extend(str(value) for name, value in headers.items() if str(name).lower() == API_KEY_HEADER)
    return values[0].strip() if len(values) == 1 else None


def _reject(reason: str, key_id: str | None = None, *, decision: str = "unauthorized") -> NoReturn:
    _count(decision)
    logger.info("API key rejected", extra={"reason": reason, "key_id": key_id})
    raise UnauthorizedError


def _count(decision: str) -> None:
    metrics.add_dimension(name="decision", value=decision)
    metrics.add_metric(name="AuthorizerDecision", unit=MetricUnit.Count, value=1)
