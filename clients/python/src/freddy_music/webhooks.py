"""Verify a webhook the API delivered (Standard Webhooks: https://www.standardwebhooks.com).

    from freddy_music.webhooks import verify

    event = verify(secret, request_body, request_headers)  # raises WebhookVerificationError
    if event["type"] == "generation.succeeded": ...

The API signs ``<webhook-id>.<webhook-timestamp>.<body>`` with HMAC-SHA256 and the organization's ``whsec_``
secret; during a secret rotation it sends two signatures, and either one verifying is enough. Deduplicate on
``webhook-id``: a retried event keeps it.
"""

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from freddy_music.errors import FreddyMusicError

TOLERANCE_SECONDS = 300  # a timestamp further from now than this is refused: a replayed old delivery


class WebhookVerificationError(FreddyMusicError):
    """The request is not a webhook the API signed with this secret (or it is too old or too new)."""


def verify(
    secret: str,
    body: bytes | str,
    headers: Mapping[str, str],
    *,
    tolerance_seconds: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> dict[str, Any]:
    """The event (``type``, ``timestamp``, ``data``: the job) once its signature and timestamp check out.

    ``body`` must be the request's raw bytes, before any JSON parsing; ``headers`` may use any letter case."""
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id, timestamp, signatures = (
        lowered.get("webhook-id"),
        lowered.get("webhook-timestamp"),
        lowered.get("webhook-signature"),
    )
    if not (message_id and timestamp and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a number") from None
    if abs((time.time() if now is None else now) - sent_at) > tolerance_seconds:
        raise WebhookVerificationError("webhook-timestamp is too far from now")
    payload = body.encode() if isinstance(body, str) else body
    expected = hmac.new(_key(secret), f"{message_id}.{sent_at}.".encode() + payload, hashlib.sha256).digest()
    for signature in signatures.split(" "):
        version, _, encoded = signature.partition(",")
        if version == "v1" and hmac.compare_digest(encoded.encode(), base64.b64encode(expected)):
            event: dict[str, Any] = json.loads(payload)
            return event
    raise WebhookVerificationError("no signature matches")


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error:
        raise WebhookVerificationError("the secret is not a whsec_ secret") from None
