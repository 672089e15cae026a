"""Domain errors. Each one knows how it appears in the contract's error envelope.

``message`` is the user-facing text, ``system_message`` a short machine-oriented cause; neither may carry
internals (resource names, exception text, stack traces). Texts the contract shows are used byte for byte.
"""

from collections.abc import Mapping
from typing import ClassVar


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
    # A retryable error is answered with a Retry-After header.
    retryable: ClassVar[bool] = False

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

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(details={"field": field, "reason": reason})
        self.system_message = f"Invalid path parameter: {field}"


class JobNotFoundError(ApiError):
    """Also raised for another user's or organization's job: the two must be indistinguishable."""

    status = 404
    code = "RESOURCE_NOT_FOUND"
    type = "client_error"
    message = "The requested resource could not be found."
    default_system_message = "Music generation job not found"

    def __init__(self, job_id: str) -> None:
        super().__init__(details={"job_id": job_id})


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


class CorruptJobError(InternalError):
    """A stored job item does not satisfy the stored-item model."""
