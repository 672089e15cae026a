"""The events in events/ (the ones ``sam local invoke -e`` takes)."""

import json
from pathlib import Path
from typing import Any

from tests.helpers.seed import ALICE, ORG

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    return event


def event_names() -> list[str]:
    return sorted(path.name for path in EVENTS_DIR.glob("*.json"))


def generation_event(organization_id: str, job_id: str, *, user_id: str = ALICE, orgs: str = ORG) -> dict[str, Any]:
    """A GET proxy event for ``job_id``, as the authorizer passes it on for ``user_id`` in ``orgs``."""
    event = load_event("get_generation_succeeded.json")
    event["pathParameters"] = {"organization_id": organization_id, "job_id": job_id}
    event["requestContext"]["authorizer"].update(user_id=user_id, principalId=user_id, organization_ids=orgs)
    return event
