"""EventBridge schedules, locally: each function with a ``Schedule`` event in template.yaml is invoked with a
scheduled event, on its template rate divided by ``LOCAL_SPEEDUP`` (the dispatch sweeper's ``rate(1 minute)``
runs every 10 s), so that what it does shows within seconds of ``make run``."""

import sys
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from music_local.background import EventSourceThreads, runs_of
from music_local.emulator import ACCOUNT_ID, REGION
from music_local.gateway import LocalFunction
from music_local.template import Schedule

LOCAL_SPEEDUP: Final = 6


def scheduled_event(schedule: Schedule, moment: datetime) -> dict[str, Any]:
    """What EventBridge hands a function its schedule invokes."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{schedule.function}-{schedule.event}"],
        "detail": {},
    }


class Scheduler(EventSourceThreads[Schedule, LocalFunction]):
    """One background thread per schedule; ``stop`` waits for invocations under way."""

    def __init__(self, schedules: Sequence[Schedule], functions: Mapping[str, LocalFunction]) -> None:
        super().__init__(runs_of(schedules, functions))

    def _run(self, schedule: Schedule, function: LocalFunction) -> None:
        while not self._stopping.wait(schedule.period_seconds / LOCAL_SPEEDUP):
            try:
                function.invoke(scheduled_event(schedule, datetime.now(UTC)))
            except Exception as error:  # noqa: BLE001 - Lambda would log it and invoke again on schedule
                print(f"scheduler: {schedule.function} failed ({type(error).__name__})", file=sys.stderr, flush=True)
