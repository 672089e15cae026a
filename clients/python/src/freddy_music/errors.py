"""What the client raises. Everything derives from :class:`FreddyMusicError`.

An answer of the API that is not a success raises an :class:`APIError` subclass chosen by its HTTP status, carrying
the contract's error envelope. A job that ends in a state other than ``succeeded`` raises a :class:`JobError`
subclass carrying the job.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from freddy_music.models import GenerationJob


class FreddyMusicError(Exception):
    """Base class of every error this package raises."""


class ConfigurationError(FreddyMusicError):
    """The client cannot be used as configured (for example: no API key)."""


class MissingAPIKeyError(ConfigurationError):
    """No API key was given, and ``$FREDDY_API_KEY`` is not set."""


class APIConnectionError(FreddyMusicError):
    """The API or the storage could not be reached, or did not answer in time: there is no HTTP status."""


class UnexpectedResponseError(FreddyMusicError):
    """A success status whose body is not JSON, or not the shape of a job."""


class APIError(FreddyMusicError):
    """The API answered with an error. The fields are the envelope's (``error.code``, ``error.message``, …).

    A body that is not the envelope (a proxy's HTML page, say) still gives ``status``; ``code`` is then
    ``HTTP_<status>`` and ``message`` the start of the body. ``trace_id`` falls back to the ``X-Request-Id`` header.
    ``headers`` are the answer's HTTP headers.
    """

    def __init__(  # noqa: PLR0913 - one keyword-only argument per field of the envelope
        self,
        *,
        status: int,
        code: str,
        message: str,
        system_message: str | None = None,
        type: str | None = None,  # the envelope's own name for it
        details: dict[str, Any] | None = None,
        trace_id: str | None = None,
        timestamp: str | None = None,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.system_message = system_message
        self.type = type
        self.details = details if details is not None else {}
        self.trace_id = trace_id
        self.timestamp = timestamp
        self.retry_after = retry_after  # seconds, from the Retry-After header
        self.headers: Mapping[str, str] = headers if headers is not None else {}
        super().__init__(str(self))

    @property
    def request_id(self) -> str | None:
        """The answer's ``X-Request-Id`` (else the envelope's ``trace_id``, which is the same id)."""
        return self.headers.get("X-Request-Id") or self.trace_id

    def __str__(self) -> str:
        text = f"HTTP {self.status} {self.code}: {self.message}"
        if self.system_message:
            text += f" ({self.system_message})"
        if self.details:
            text += f" details={self.details}"
        if self.trace_id:
            text += f" [trace_id {self.trace_id}]"
        return text


class ValidationError(APIError):
    """400 or 422: the request is invalid (``details`` names the parameter). Retrying it will not help."""


class AuthenticationError(APIError):
    """401: the API key is missing, malformed, unknown, revoked or expired."""


class PermissionDeniedError(APIError):
    """403: the key's owner does not belong to the organization."""


class NotFoundError(APIError):
    """404: no such job for this caller (another user's job answers the same)."""


class ConflictError(APIError):
    """409: the request conflicts with the resource's current state."""


class IdempotencyKeyReusedError(ConflictError):
    """409 ``IDEMPOTENCY_KEY_REUSED``: the idempotency key was already used for a different request. Never
    retried: send the new request with a new key (``generations.create`` makes one when given none)."""


class IdempotencyKeyInUseError(ConflictError):
    """409 ``IDEMPOTENCY_KEY_IN_USE``: the first request with this key is still being processed. Retried by
    ``generations.create`` after ``retry_after``; the retry then gets that request's answer."""


class RateLimitedError(APIError):
    """429: too many requests; ``retry_after`` says when to try again."""


class ServiceUnavailableError(APIError):
    """5xx: the service failed or is temporarily unavailable; ``retry_after`` says when to try again, if known."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitedError,
}


_BY_CODE: dict[tuple[int, str], type[APIError]] = {
    (409, "IDEMPOTENCY_KEY_REUSED"): IdempotencyKeyReusedError,
    (409, "IDEMPOTENCY_KEY_IN_USE"): IdempotencyKeyInUseError,
}


def error_class(status: int, code: str | None = None) -> type[APIError]:
    """The exception class for an HTTP error status, refined by the envelope's ``code`` where one has its own."""
    if code is not None and (status, code) in _BY_CODE:
        return _BY_CODE[status, code]
    if status >= 500:
        return ServiceUnavailableError
    return _BY_STATUS.get(status, APIError)


class JobError(FreddyMusicError):
    """The job ended without succeeding; ``job`` is its last state."""

    def __init__(self, job: "GenerationJob", message: str) -> None:
        self.job = job
        super().__init__(message)


class JobFailedError(JobError):
    """The job failed; ``job.error_message`` says why, in words fit for a user."""


class JobCancelledError(JobError):
    """The job was cancelled."""


class JobRefusedError(JobError):
    """The request was refused; ``job.refusal_reason`` says why."""


class WaitTimeoutError(FreddyMusicError, TimeoutError):
    """The job did not end before the deadline. ``last_job`` is its last state seen (``None`` if no answer came);
    when the last attempt failed, that error is the ``__cause__``."""

    def __init__(self, message: str, *, timeout: float, last_job: "GenerationJob | None") -> None:
        self.timeout = timeout
        self.last_job = last_job
        super().__init__(message)


class DownloadError(FreddyMusicError):
    """The audio could not be downloaded (``status`` is the storage's HTTP status when there was one)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)
