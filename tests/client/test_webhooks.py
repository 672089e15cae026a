"""The client's webhook verifier, against signatures made by the Standard Webhooks library from PyPI."""

import base64
import json
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from freddy_music import WebhookVerificationError, verify

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
BODY = json.dumps({"type": "generation.succeeded", "timestamp": "2026-06-28T10:30:00Z", "data": {"id": "mgen_1"}})


def signed(secret: str = SECRET, message_id: str = "evt_1", body: str = BODY) -> dict[str, str]:
    moment = datetime.now(UTC)
    return {
        "Webhook-Id": message_id,
        "Webhook-Timestamp": str(int(moment.timestamp())),
        "Webhook-Signature": Webhook(secret).sign(message_id, moment, body),
    }


def test_a_signed_event_verifies_and_is_returned() -> None:
    assert verify(SECRET, BODY.encode(), signed())["data"] == {"id": "mgen_1"}


def test_either_signature_of_a_rotation_is_enough() -> None:
    other = "whsec_" + base64.b64encode(b"o" * 32).decode()
    headers = signed(other)
    headers["Webhook-Signature"] = f"{signed()['Webhook-Signature']} {headers['Webhook-Signature']}"
    assert verify(SECRET, BODY, headers)["type"] == "generation.succeeded"
    assert verify(other, BODY, headers)["type"] == "generation.succeeded"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda headers, body: (headers | {"Webhook-Id": "evt_2"}, body),
        lambda headers, body: (headers, body.replace("mgen_1", "mgen_2")),
        lambda headers, body: (headers | {"Webhook-Timestamp": str(int(headers["Webhook-Timestamp"]) - 600)}, body),
        lambda headers, body: ({k: v for k, v in headers.items() if k != "Webhook-Signature"}, body),
        lambda headers, body: (headers | {"Webhook-Signature": "v1,AAAA"}, body),
    ],
)
def test_a_tampered_stale_or_unsigned_request_is_refused(tamper: object) -> None:
    headers, body = tamper(signed(), BODY)  # type: ignore[operator]
    with pytest.raises(WebhookVerificationError):
        verify(SECRET, body, headers)
