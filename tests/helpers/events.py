"""The events in events/ (the ones ``sam local invoke -e`` takes)."""

import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    return event


def event_names() -> list[str]:
    return sorted(path.name for path in EVENTS_DIR.glob("*.json"))
