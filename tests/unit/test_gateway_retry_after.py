"""What a gateway-made 429 says is true: its static Retry-After is explained wherever it is published, and the
texts do not promise what the value cannot keep (a quota does not renew "shortly")."""

import re
from pathlib import Path

from scripts.generate_openapi import build_document

from music_api.core.errors import GATEWAY_RESPONSES, QuotaExceededError, RateLimitedError
from music_local.template import default_template

ERRORS_DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def explained_in_errors_doc() -> dict[str, str]:
    """Response type -> the Retry-After of docs/errors.md's "What a gateway Retry-After means" table."""
    section = ERRORS_DOC.read_text(encoding="utf-8").split("### What a gateway Retry-After means", 1)[1]
    explained: dict[str, str] = {}
    for row in re.findall(r"^\| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \| `(\d+)` \|", section, re.MULTILINE):
        for response_type in re.findall(r"`([A-Z_]+)`", row[0]):
            explained[response_type] = row[1]
    return explained


def test_every_gateway_retry_after_is_explained_with_its_value() -> None:
    sent = {name: str(response.retry_after_seconds) for name, response in GATEWAY_RESPONSES.items()}

    assert explained_in_errors_doc() == {name: value for name, value in sent.items() if value != "None"}


def test_the_openapi_retry_after_says_what_throttled_and_quota_exceeded_mean() -> None:
    description = build_document()["components"]["headers"]["Retry-After"]["description"]
    trial_create_refill = round(1 / float(default_template().parameter_value("TrialCreateRateLimit")))

    assert f"one per {trial_create_refill} s" in description
    assert "not when the quota renews" in description


def test_no_429_message_promises_a_retry_shortly() -> None:
    assert "shortly" not in RateLimitedError.message
    assert "shortly" not in QuotaExceededError.message
    assert "renews" in QuotaExceededError.message
