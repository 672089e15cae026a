"""When a failed delivery is tried again: exponential backoff with equal jitter, until the event is as old as the
retry window allows (docs/architecture.md#completion-webhooks has the schedule this gives)."""

import math
import random
from dataclasses import dataclass
from typing import Final

# SQS's longest ChangeMessageVisibility: no single wait can be longer.
MAX_VISIBILITY_SECONDS: Final = 43200


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_seconds: float = 10  # the wait after the first failed attempt (before jitter)
    max_delay_seconds: int = 3 * 3600  # no wait between two attempts is longer
    max_age_seconds: int = 24 * 3600  # no attempt starts later than this after the transition was queued

    def nominal_delay(self, attempt: int) -> float:
        """The wait after failed attempt ``attempt`` (1-based), before jitter: base, 2x base, 4x base, ..., capped."""
        return min(float(self.max_delay_seconds), self.base_seconds * float(2 ** min(attempt - 1, 40)))

    def delay(self, attempt: int, rng: random.Random | None = None) -> int:
        """The wait in whole seconds (SQS's unit): half the nominal delay plus a random part of the other half,
        so that receivers that failed together are not all tried again in the same second."""
        nominal = self.nominal_delay(attempt)
        jittered = nominal / 2 + (rng or random).uniform(0, nominal / 2)  # jitter, not a secret # nosec B311
        return min(MAX_VISIBILITY_SECONDS, math.ceil(jittered))

    def next_delay(self, attempt: int, age_seconds: float, rng: random.Random | None = None) -> int | None:
        """The wait before the next attempt, or ``None`` when that attempt would start past the window: the
        event is then dead-lettered."""
        wait = self.delay(attempt, rng)
        return None if age_seconds + wait > self.max_age_seconds else wait

    def nominal_schedule(self) -> list[float]:
        """The nominal waits of one event that never gets through, until the window closes."""
        waits: list[float] = []
        while sum(waits) + self.nominal_delay(len(waits) + 1) <= self.max_age_seconds:
            waits.append(self.nominal_delay(len(waits) + 1))
        return waits
