"""The catalogue of errors: every code and text the API answers with, the functions' and the gateway's.

Each class knows how it appears in the contract's error envelope. ``message`` is the user-facing text,
``system_message`` a short machine-oriented cause; neither may carry internals (resource names, exception text,
stack traces). Texts the contract shows are used byte for byte. ``GATEWAY_RESPONSES`` says which of them API
Gateway answers itself; template.yaml's GatewayResponses are checked against it (tests/unit/test_template.py).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Final


class ApiError(Exception):
    """An error that ends a request with the contract's error envelope.

    The exception's own text (``str(error)``) is the internal cause, for the logs only; the body carries
    the class's public texts.
    """

    status: ClassVar[int]
    code: ClassVar[str]
    type: ClassVar[str]
    message: ClassVar[str]
    default_system_message: ClassVar[str]
    # A retryable error is answered with a Retry-After header: its own, else the function's setting.
    retryable: ClassVar[bool] = False
    retry_after_seconds: ClassVar[int | None] = None

    def __init__(self, cause: str | None = None, *, details: Mapping[str, str] | None = None) -> None:
        self.system_message = self.default_system_message
        self.details: dict[str, str] = dict(details or {})
        super().__init__(cause or self.default_system_message)


class AuthenticationRequiredError(ApiError):
    status = 401
    code = "AUTHENTICATION_REQUIRED"
    type = "authentication_error"
    message = "Authentication required. Please provide a valid API key."
    default_system_message = "Missing or invalid authorization header"


class OrganizationAccessDeniedError(ApiError):
    status = 403
    code = "ORGANIZATION_ACCESS_DENIED"
    type = "authorization_error"
    message = "You do not have access to this organization."
    default_system_message = "Caller is not a member of the organization"


class RequestValidationError(ApiError):
    status = 400
    code = "VALIDATION_ERROR"
    type = "client_error"
    message = "The request is invalid. Please check the parameter named in details."
    default_system_message = "Invalid request parameter"

    def __init__(self, field: str, reason: str, *, location: str = "path") -> None:
        super().__init__(details={"field": field, "reason": reason})
        self.system_message = f"Invalid {location} parameter: {field}"


class BodyFieldError(RequestValidationError):
    """A body field missing, of the wrong type, out of its limits, or not a field at all (create's body)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.system_message = f"Invalid request body field: {field}"


class InvalidJsonError(ApiError):
    status = 400
    code = "INVALID_JSON"
    type = "client_error"
    message = "The request body must be one JSON object."
    default_system_message = "Request body is not a JSON object"


class UnsupportedMediaTypeError(ApiError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    type = "client_error"
    message = "The request body must be JSON, sent with Content-Type: application/json."
    default_system_message = "Content-Type is not application/json"


class GenerationNotAllowedError(ApiError):
    """A well-formed request the engine catalogue rules out: an unknown engine, a duration above its maximum,
    lyrics it cannot sing."""

    status = 422
    code = "GENERATION_NOT_ALLOWED"
    type = "client_error"
    message = "The request is well formed but cannot be carried out. Please check the field named in details."
    default_system_message = "Request breaks a rule of the engine catalogue"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(details={"field": field, "reason": reason})


class IdempotencyKeyReusedError(ApiError):
    """The caller's idempotency key already created a job from another body: answering that job would hide the
    client's mistake, creating another would break the key's promise."""

    status = 409
    code = "IDEMPOTENCY_KEY_REUSED"
    type = "client_error"
    message = "This idempotency key was already used with a different request. Use a new key for a new request."
    default_system_message = "Idempotency key reused with a different request body"

    def __init__(self, field: str) -> None:
        super().__init__(details={"field": field, "reason": "was already used with a different request body"})


class IdempotencyKeyInUseError(ApiError):
    """The first request with this idempotency key is still being carried out: retry shortly for its answer."""

    status = 409
    code = "IDEMPOTENCY_KEY_IN_USE"
    type = "client_error"
    message = "A request with this idempotency key is still in progress. Please retry after the Retry-After header."
    default_system_message = "Idempotency key in use by a request in progress"
    retryable = True
    # A create takes well under a second: the retry then finds the first request's answer.
    retry_after_seconds = 1

    def __init__(self, field: str) -> None:
        super().__init__(details={"field": field, "reason": "a request with this key is still in progress"})


class JobNotFoundError(ApiError):
    """Also raised for another user's or organization's job: the two must be indistinguishable."""

    status = 404
    code = "RESOURCE_NOT_FOUND"
    type = "client_error"
    message = "The requested resource could not be found."
    default_system_message = "Music generation job not found"

    def __init__(self, job_id: str) -> None:
        super().__init__(details={"job_id": job_id})


class TrackNotFoundError(ApiError):
    """Also raised for another user's or organization's track: the two must be indistinguishable (as jobs)."""

    status = 404
    code = "RESOURCE_NOT_FOUND"
    type = "client_error"
    message = JobNotFoundError.message
    default_system_message = "Music track not found"

    def __init__(self, track_id: str) -> None:
        super().__init__(details={"track_id": track_id})


class ServiceUnavailableError(ApiError):
    """A dependency is throttling or unreachable: the client should retry after the Retry-After header."""

    status = 503
    code = "SERVICE_UNAVAILABLE"
    type = "server_error"
    message = "The service is temporarily unavailable. Please retry shortly."
    default_system_message = "A backing service is temporarily unavailable"
    retryable = True


class InternalError(ApiError):
    """Anything unexpected, a corrupt stored item included. The cause goes to the logs, never the body."""

    status = 500
    code = "INTERNAL_ERROR"
    type = "server_error"
    message = "An unexpected error occurred. Please try again later."
    default_system_message = "Internal server error"


# --- answered by API Gateway itself (gateway responses), never raised by a function ------------------------


class RouteNotFoundError(ApiError):
    status = 404
    code = "RESOURCE_NOT_FOUND"
    type = "client_error"
    message = JobNotFoundError.message
    default_system_message = "Route not found"


class RequestTooLargeError(ApiError):
    status = 413
    code = "REQUEST_TOO_LARGE"
    type = "client_error"
    message = "The request is too large."
    default_system_message = "Request exceeds the gateway size limit"


class RateLimitedError(ApiError):
    status = 429
    code = "RATE_LIMIT_EXCEEDED"
    type = "rate_limit_error"
    # Retry-After is the gateway's one static value (GATEWAY_RESPONSES): the shortest refill of any bucket, which a
    # method's smaller budget (a trial key's creates: one per 10 s) can exceed. Backing off says so.
    message = "Too many requests. Please wait at least Retry-After seconds, and longer each time you are refused again."
    default_system_message = "Rate limit exceeded"
    retryable = True


class QuotaExceededError(RateLimitedError):
    # A quota renews with its period (a UTC day, week or month), long after the Retry-After a static template sends.
    message = (
        "The request quota of this API key is used up for the current period. "
        "It renews when the next period starts (UTC)."
    )
    default_system_message = "Quota exceeded"


class GatewayForbiddenError(ApiError):
    """API Gateway's own SigV4 checks (signature, session token): no method of this API uses them."""

    status = 403
    code = "FORBIDDEN"
    type = "authorization_error"
    message = "The request is not allowed."
    default_system_message = "Request refused by the gateway"


class RequestBlockedError(ApiError):
    """A web application firewall in front of the stage blocked the request."""

    status = 403
    code = "REQUEST_BLOCKED"
    type = "client_error"
    message = "The request was blocked."
    default_system_message = "Request blocked by the firewall"


class GatewayUnsupportedMediaTypeError(ApiError):
    """API Gateway's own 415 (a media type it cannot pass on); create's own check is UnsupportedMediaTypeError."""

    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    type = "client_error"
    message = "The media type of the request is not supported."
    default_system_message = "Unsupported media type"


class GatewayRejectedError(ApiError):
    status = 400
    code = "BAD_REQUEST"
    type = "client_error"
    message = "The request could not be processed."
    default_system_message = "Request rejected by the gateway"


class BadGatewayError(ServiceUnavailableError):
    status = 502


class GatewayTimeoutError(ServiceUnavailableError):
    status = 504


@dataclass(frozen=True, slots=True)
class GatewayResponse:
    error: type[ApiError]
    retry_after_seconds: int | None = None


# API Gateway response type -> what it answers. Authorizer failures are 503: the auth store is unavailable.
# Every 4XX type whose own status is not 400 has an entry: one left to DEFAULT_4XX would be answered 400.
GATEWAY_RESPONSES: Final[Mapping[str, GatewayResponse]] = {
    "UNAUTHORIZED": GatewayResponse(AuthenticationRequiredError),
    "ACCESS_DENIED": GatewayResponse(OrganizationAccessDeniedError),
    "MISSING_AUTHENTICATION_TOKEN": GatewayResponse(RouteNotFoundError),
    "RESOURCE_NOT_FOUND": GatewayResponse(RouteNotFoundError),
    "WAF_FILTERED": GatewayResponse(RequestBlockedError),
    "UNSUPPORTED_MEDIA_TYPE": GatewayResponse(GatewayUnsupportedMediaTypeError),
    # The caller's key is fine in the auth table, but the gateway key that meters it was deleted, disabled or
    # taken out of every usage plan: to the caller that key does not work, so the contract's 401 (docs/errors.md).
    "INVALID_API_KEY": GatewayResponse(AuthenticationRequiredError),
    "INVALID_SIGNATURE": GatewayResponse(GatewayForbiddenError),
    "EXPIRED_TOKEN": GatewayResponse(GatewayForbiddenError),
    "REQUEST_TOO_LARGE": GatewayResponse(RequestTooLargeError),
    "THROTTLED": GatewayResponse(RateLimitedError, retry_after_seconds=1),
    "QUOTA_EXCEEDED": GatewayResponse(QuotaExceededError, retry_after_seconds=60),
    "AUTHORIZER_FAILURE": GatewayResponse(ServiceUnavailableError, retry_after_seconds=1),
    "AUTHORIZER_CONFIGURATION_ERROR": GatewayResponse(ServiceUnavailableError, retry_after_seconds=1),
    "INTEGRATION_FAILURE": GatewayResponse(BadGatewayError, retry_after_seconds=1),
    "INTEGRATION_TIMEOUT": GatewayResponse(GatewayTimeoutError, retry_after_seconds=1),
    "DEFAULT_4XX": GatewayResponse(GatewayRejectedError),
    "DEFAULT_5XX": GatewayResponse(InternalError),
}
