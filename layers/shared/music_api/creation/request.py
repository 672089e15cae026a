"""The create request: the caller, the path's organization, and a strictly validated JSON body.

Limits are ours (the published page gives none): documented in docs/api-reference.md and the OpenAPI schema,
which is generated from ``CreateGenerationBody``.
"""

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from music_api.core.caller import Caller, caller_of, member_organization
from music_api.core.errors import BodyFieldError, InvalidJsonError, RequestValidationError, UnsupportedMediaTypeError
from music_api.core.ids import TRACK_ID_MAX_LENGTH, TRACK_ID_PATTERN, anchored
from music_api.engines.models import ENGINE_KEY_PATTERN
from music_api.webhooks.url import MAX_URL_LENGTH

# Longest a job may be asked to run, whatever the engine: the engine's own maximum is checked after parsing.
MAX_DURATION_SECONDS: Final = 3600
# What no text field takes (docs/security.md, "Text fields"): the C0 controls but tab, line feed and carriage return;
# DEL and the C1 controls; the bidirectional embedding, override and isolate controls (U+202A-U+202E,
# U+2066-U+2069), which reorder what a reader sees; the byte order mark and the interlinear annotation characters.
# Each class below excludes them itself: a bare \S would match a control character.
_NEVER: Final = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb"
# Single-line fields (a title, a tag) also take no tab, line break, or Unicode line or paragraph separator.
_LINE_BREAKS: Final = r"\t\n\r\u2028\u2029"
# Printable characters (tab and line breaks allowed), at least one of them not a space: prompt, lyrics.
PRINTABLE: Final = rf"^[^{_NEVER}]*[^\s{_NEVER}][^{_NEVER}]*$"
# Printable characters on one line, at least one of them not a space: title, style tags.
PRINTABLE_LINE: Final = rf"^[^{_NEVER}{_LINE_BREAKS}]*[^\s{_NEVER}][^{_NEVER}{_LINE_BREAKS}]*$"
TEXT_RULE: Final = (
    "Printable characters, at least one not a space: no control character (C0 but tab and line breaks, DEL, C1), "
    "no bidirectional embedding, override or isolate control (U+202A-U+202E, U+2066-U+2069), no U+FEFF or "
    "U+FFF9-U+FFFB."
)
LINE_RULE: Final = f"{TEXT_RULE} One line: no tab, line break, U+2028 or U+2029 either."
# What a decoder puts in place of bytes that are not UTF-8 (API Gateway's too).
REPLACEMENT_CHARACTER: Final = "\ufffd"
# An unknown field is named back only when its name is short and plain; otherwise it could be anything.
PLAIN_FIELD_NAME: Final = re.compile(r"[A-Za-z0-9_]{1,64}")
UNKNOWN_FIELD: Final = "an unknown field"
# Longest integer a body may hold: every number of this request is far shorter. A longer one is never converted
# (Python refuses over 4,300 digits, with a ValueError, and takes quadratic time below that).
MAX_INTEGER_DIGITS: Final = 20
IDEMPOTENCY_KEY_PATTERN: Final = r"^[A-Za-z0-9_.:-]{8,128}$"
IDEMPOTENCY_KEY_HEADER: Final = "Idempotency-Key"
FORMAT_REASON: Final = "has a format or characters this field does not allow (docs/api-reference.md)"


class CreateGenerationBody(BaseModel):
    """The body of POST /generations. Unknown fields are refused; types are strict (``"30"`` is no integer)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    engine: Annotated[str, Field(pattern=f"^{ENGINE_KEY_PATTERN.pattern}$", max_length=32)]
    prompt: Annotated[str, Field(min_length=1, max_length=2000, pattern=PRINTABLE, description=TEXT_RULE)]
    duration_seconds: Annotated[int, Field(ge=1, le=MAX_DURATION_SECONDS)]
    mode: Literal["creation", "focus"] = "creation"
    instrumental: bool = False
    lyrics: Annotated[str, Field(min_length=1, max_length=5000, pattern=PRINTABLE, description=TEXT_RULE)] | None = None
    seed_track_id: Annotated[str, Field(pattern=anchored(TRACK_ID_PATTERN), max_length=TRACK_ID_MAX_LENGTH)] | None = (
        None
    )
    style_tags: (
        Annotated[
            list[Annotated[str, Field(min_length=1, max_length=40, pattern=PRINTABLE_LINE, description=LINE_RULE)]],
            Field(max_length=10),
        ]
        | None
    ) = None
    title: Annotated[str, Field(min_length=1, max_length=300, pattern=PRINTABLE_LINE, description=LINE_RULE)] | None = (
        None
    )
    idempotency_key: Annotated[str, Field(pattern=IDEMPOTENCY_KEY_PATTERN, max_length=128)] | None = None
    # Where the job's terminal event is delivered (music_api.webhooks); its rules are checked after parsing.
    webhook_url: (
        Annotated[
            str,
            Field(
                min_length=1,
                max_length=MAX_URL_LENGTH,
                json_schema_extra={"format": "uri"},
                description="Where the job's end is posted (webhooks: generationEnded). https with a public host "
                "on a live stage; no user name or password, no fragment. Never returned.",
            ),
        ]
        | None
    ) = None


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    value: str
    field: str  # where the client sent it (the header or the body field): what an error about it names


@dataclass(frozen=True, slots=True)
class CreateGenerationRequest:
    organization_id: str
    caller: Caller
    body: CreateGenerationBody
    path: str  # the request's path as the client sent it (stage included), for Location
    idempotency_key: IdempotencyKey | None = None  # the header's, else the body's; None: every request creates

    def idempotency_scope(self, key: IdempotencyKey) -> dict[str, str]:
        """What one idempotency key stands for: the caller's (organization, the authorizer's user) and the key."""
        return {"organization_id": self.organization_id, "user_id": self.caller.user_id, "idempotency_key": key.value}


def parse_request(event: Mapping[str, Any]) -> CreateGenerationRequest:
    """Caller, organization (401/400/403), then content type (415), the Idempotency-Key header, JSON (400),
    fields (400 naming the field or header)."""
    caller = caller_of(event)
    organization_id = member_organization(event, caller)
    headers = {str(name).lower(): value for name, value in (event.get("headers") or {}).items()}
    media_type = str(headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaTypeError()
    header_key = _header_idempotency_key(event)
    body = _json_object(event)
    try:
        parsed = CreateGenerationBody.model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise BodyFieldError(_field_name(error), _reason(error)) from None
    context = event.get("requestContext") or {}
    path = str(context.get("path") or event.get("path") or "")
    body_key = IdempotencyKey(parsed.idempotency_key, "idempotency_key") if parsed.idempotency_key else None
    return CreateGenerationRequest(
        organization_id=organization_id, caller=caller, body=parsed, path=path, idempotency_key=header_key or body_key
    )


def _header_idempotency_key(event: Mapping[str, Any]) -> IdempotencyKey | None:
    """The header, checked by the body field's own rule. Sent twice it is refused: which one would count?"""
    wanted = IDEMPOTENCY_KEY_HEADER.lower()
    values = [
        value
        for name, sent in (event.get("multiValueHeaders") or {}).items()
        if str(name).lower() == wanted
        for value in (sent or [])
    ]
    if not values:
        values = [value for name, value in (event.get("headers") or {}).items() if str(name).lower() == wanted]
    if not values:
        return None
    if len(values) > 1:
        raise RequestValidationError(IDEMPOTENCY_KEY_HEADER, "must be sent once", location="header")
    (value,) = values
    if not isinstance(value, str) or re.fullmatch(IDEMPOTENCY_KEY_PATTERN, value) is None:
        raise RequestValidationError(IDEMPOTENCY_KEY_HEADER, FORMAT_REASON, location="header")
    return IdempotencyKey(value, IDEMPOTENCY_KEY_HEADER)


def _json_object(event: Mapping[str, Any]) -> dict[str, Any]:
    raw = _body_text(event)
    try:
        body = json.loads(raw, parse_int=_bounded_int)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError, as are int() and float() failures
        raise InvalidJsonError("Body does not parse as JSON") from None
    if not isinstance(body, dict):
        raise InvalidJsonError("Body is JSON but not an object")
    return body


def _body_text(event: Mapping[str, Any]) -> str:
    """The body as text, refused where it was not UTF-8. API Gateway passes a body whose media type is not one of
    the API's binary media types as text, with each invalid UTF-8 sequence replaced by U+FFFD (docs/security.md,
    "Invalid UTF-8"): such a body is refused, since a replaced byte cannot be told from a sent U+FFFD. A binary one
    arrives base64-encoded and is decoded strictly."""
    raw = event.get("body")
    if not isinstance(raw, str):
        raise InvalidJsonError("Body missing or not text")
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(raw, validate=True).decode("utf-8")
        except ValueError:  # binascii.Error and UnicodeDecodeError both are
            raise InvalidJsonError("Body is not base64-encoded UTF-8") from None
    if REPLACEMENT_CHARACTER in raw:
        raise InvalidJsonError("Body is not valid UTF-8")
    return raw


class OversizedInteger:
    """A JSON integer of more than ``MAX_INTEGER_DIGITS`` digits, left unconverted: no field takes it (strict
    types), so validation refuses it naming the field it was sent in."""

    __slots__ = ()


def _bounded_int(text: str) -> int | OversizedInteger:
    return int(text) if len(text.lstrip("-")) <= MAX_INTEGER_DIGITS else OversizedInteger()


def _field_name(error: Mapping[str, Any]) -> str:
    """Where the error is, by our field names and list positions; an unknown field's name (the client's text) only
    when short and plain, so that neither the body nor the log echoes whatever the client sent."""
    location = error["loc"]
    if error["type"] == "extra_forbidden" and not all(
        isinstance(part, int) or PLAIN_FIELD_NAME.fullmatch(part) for part in location
    ):
        return UNKNOWN_FIELD
    return ".".join(str(part) for part in location) or "body"


def _reason(error: Mapping[str, Any]) -> str:
    """pydantic's message without the input echoed back; printable and short (the envelope's limits)."""
    if isinstance(error.get("input"), OversizedInteger):
        return f"must be a number of at most {MAX_INTEGER_DIGITS} digits"
    if error["type"] == "extra_forbidden":
        return "is not a field of this request"
    if error["type"] == "missing":
        return "is required"
    if error["type"] == "string_pattern_mismatch":
        return FORMAT_REASON
    message = str(error["msg"]).encode("ascii", "replace").decode()
    return message[:200]
