"""Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over ``id.timestamp.body`` with
the organization's ``whsec_`` secret, base64, sent as ``webhook-signature: v1,<signature>``. During a rotation
both secrets sign, the signatures space-separated, so a receiver holding either secret verifies."""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Final

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - the specification's prefix, not a secret # nosec B105
SECRET_BYTES: Final = 32  # 256 bits, the HMAC-SHA256 block's worth of key material the specification suggests


class InvalidSecretError(ValueError):
    """Not a ``whsec_`` secret of base64 key bytes."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidSecretError(f"a signing secret starts with {SECRET_PREFIX}")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except ValueError:
        raise InvalidSecretError("a signing secret is base64 after its prefix") from None
    if len(key) < 24:
        raise InvalidSecretError("a signing secret holds at least 24 bytes")
    return key


def signature_header(signing_secrets: Sequence[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one ``v1,<base64>`` per secret, space-separated."""
    if not signing_secrets:
        raise InvalidSecretError("at least one signing secret is needed")
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(secret_key(secret), signed, hashlib.sha256).digest()).decode()
        for secret in signing_secrets
    )
