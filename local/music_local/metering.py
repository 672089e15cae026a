"""Usage plans as the local gateway enforces them: the plan of a request's gateway key, its rate, burst and quota.

The plans are those template.yaml defines, created in the emulator at start-up (music_local.emulator); which
gateway key belongs to which plan is read from the emulator too, as API Gateway reads it, so ``music-api-admin
key plan`` against the local stack changes what requests get within REFRESH_SECONDS.

What API Gateway does, as this module models it:
- a request whose method needs an API key and whose authorizer named none, or a key that is unknown, disabled
  or in no plan of this stage, is refused with INVALID_API_KEY (the template's gateway response of that type:
  the contract's 401);
- a plan's quota counts every request of one key in a calendar period in UTC (a day; a week from Sunday; a
  month from the 1st); once used up: QUOTA_EXCEEDED (429) until the period ends;
- a plan's throttle is a token bucket per key (``rate`` tokens a second, up to ``burst``, full at first); a
  method with its own budget in the plan (``<resource path>/<METHOD>``) also draws on a bucket of its own;
  an empty bucket: THROTTLED (429). A refused request uses neither tokens nor quota.
"""

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from music_local.emulator import API_ID, STAGE
from music_local.template import Quota, Throttle

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient

REFRESH_SECONDS = 1.0  # how stale the local view of keys and plans may be


@dataclass(frozen=True)
class _Plan:
    id: str
    throttle: Throttle | None
    quota: Quota | None
    method_throttles: Mapping[str, Throttle]


@dataclass(frozen=True)
class _Member:
    key_id: str
    enabled: bool
    plan: _Plan | None


@dataclass
class _Bucket:
    tokens: float
    updated: float

    def refill(self, budget: Throttle, now: float) -> None:
        self.tokens = min(float(budget.burst), self.tokens + (now - self.updated) * budget.rate)
        self.updated = now


@dataclass
class _QuotaUse:
    period_start: datetime
    used: int = 0


@dataclass
class UsagePlanMeter:
    """Decides, per request, whether a usage plan lets it through; safe to call from many threads."""

    client: "APIGatewayClient"
    clock: Callable[[], float] = time.time  # epoch seconds: quota periods are calendar periods
    _members: dict[str, _Member] = field(default_factory=dict)  # by gateway key value
    _loaded_at: float | None = None
    _buckets: dict[tuple[str, str, str], _Bucket] = field(default_factory=dict)  # (plan, key, method or "")
    _quotas: dict[tuple[str, str], _QuotaUse] = field(default_factory=dict)  # (plan, key)
    _lock: threading.Lock = field(default_factory=threading.Lock)  # the state above
    _loading: threading.Lock = field(default_factory=threading.Lock)  # one reader of the emulator at a time

    def admit(self, usage_identifier: Any, method: str) -> str | None:
        """``None`` when the request may go on, else the gateway response type that refuses it.

        ``method`` is ``<resource path>/<METHOD>``, the key of a plan's per-method throttle.
        """
        if not isinstance(usage_identifier, str) or not usage_identifier:
            return "INVALID_API_KEY"
        now = self.clock()
        self._refresh(usage_identifier, now)
        with self._lock:
            member = self._members.get(usage_identifier)
            if member is None or not member.enabled or member.plan is None:
                return "INVALID_API_KEY"
            plan = member.plan
            quota = self._quota_use(plan, member.key_id, now)
            if plan.quota is not None and quota is not None and quota.used >= plan.quota.limit:
                return "QUOTA_EXCEEDED"
            buckets = []
            if plan.throttle is not None:
                buckets.append(self._bucket(plan.id, member.key_id, "", plan.throttle, now))
            if (method_budget := plan.method_throttles.get(method)) is not None:
                buckets.append(self._bucket(plan.id, member.key_id, method, method_budget, now))
            if any(bucket.tokens < 1 for bucket in buckets):
                return "THROTTLED"
            for bucket in buckets:
                bucket.tokens -= 1
            if quota is not None:
                quota.used += 1
            return None

    # --- state ------------------------------------------------------------------------------------------------

    def _refresh(self, usage_identifier: str, now: float) -> None:
        """Re-read keys and plans when the view is stale, without holding up requests: while one thread reads,
        the others go on with the view they have. A gateway key not in the view (an operator's `key create` a
        moment ago) waits for a fresh read instead."""
        with self._lock:
            known = usage_identifier in self._members
            if known and not self._stale(now):
                return
        if not self._loading.acquire(blocking=not known):
            return
        try:
            with self._lock:
                if usage_identifier in self._members and not self._stale(now):
                    return  # another thread has just read it
            members = self._read_members()
            with self._lock:
                self._members, self._loaded_at = members, now
        finally:
            self._loading.release()

    def _stale(self, now: float) -> bool:
        return self._loaded_at is None or now - self._loaded_at >= REFRESH_SECONDS

    def _bucket(self, plan_id: str, key_id: str, method: str, budget: Throttle, now: float) -> _Bucket:
        bucket = self._buckets.setdefault((plan_id, key_id, method), _Bucket(float(budget.burst), now))
        bucket.refill(budget, now)
        return bucket

    def _quota_use(self, plan: _Plan, key_id: str, now: float) -> _QuotaUse | None:
        if plan.quota is None:
            return None
        start = period_start(plan.quota.period, now)
        use = self._quotas.get((plan.id, key_id))
        if use is None or use.period_start != start:
            use = self._quotas[(plan.id, key_id)] = _QuotaUse(start)
        return use

    def _read_members(self) -> dict[str, _Member]:
        """Every gateway key by value, with the plan of this stage it belongs to, from the emulator."""
        plans: dict[str, _Plan] = {}
        for page in self.client.get_paginator("get_usage_plans").paginate():
            for plan in page["items"]:
                stages = [s for s in plan.get("apiStages", []) if (s.get("apiId"), s.get("stage")) == (API_ID, STAGE)]
                if stages:
                    plans[plan["id"]] = _plan(plan, stages)
        keys = {
            key["id"]: key
            for page in self.client.get_paginator("get_api_keys").paginate(includeValues=True)
            for key in page["items"]
        }
        plan_of = {
            member["id"]: plans[plan_id]
            for plan_id in plans
            for page in self.client.get_paginator("get_usage_plan_keys").paginate(usagePlanId=plan_id)
            for member in page["items"]
        }
        return {
            key["value"]: _Member(key_id, bool(key.get("enabled")), plan_of.get(key_id))
            for key_id, key in keys.items()
            if key.get("value")
        }


def _plan(plan: Mapping[str, Any], stages: Sequence[Mapping[str, Any]]) -> _Plan:
    throttle, quota = plan.get("throttle"), plan.get("quota")
    return _Plan(
        id=plan["id"],
        throttle=Throttle(float(throttle["rateLimit"]), int(throttle["burstLimit"])) if throttle else None,
        quota=Quota(int(quota["limit"]), str(quota["period"])) if quota else None,
        method_throttles={
            method: Throttle(float(budget["rateLimit"]), int(budget["burstLimit"]))
            for stage in stages
            for method, budget in (stage.get("throttle") or {}).items()
        },
    )


def period_start(period: str, now: float) -> datetime:
    """The start of the quota period that holds ``now``: calendar periods in UTC, weeks from Sunday."""
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "DAY":
        return day
    if period == "WEEK":
        return day - timedelta(days=(day.weekday() + 1) % 7)
    if period == "MONTH":
        return day.replace(day=1)
    raise ValueError(f"unknown quota period {period!r}")
