"""The gateway's side of a key: its API Gateway API key and the usage plan that meters it (docs/operations.md).

Every customer key has its own gateway API key, a member of exactly one usage plan. The authorizer names that
gateway key (``usageIdentifierKey``) from the value stored on the key's item, so API Gateway applies the plan's
throttle and quota per customer key. The gateway key's value is API Gateway's identifier, not the customer's
secret: with the API's key source ``AUTHORIZER`` no client can present it, and it is never printed or logged.
"""

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from music_admin.auth_store import AdminError, AuthRepository
from music_admin.models import GatewayKey
from music_api.authorizer.keys import Environment, digest_of, key_id_of
from music_api.authorizer.models import StoredApiKey

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient


@dataclass(frozen=True)
class PlanLimits:
    """What ``plan list`` shows of a plan, as API Gateway holds it."""

    name: str
    rate: float | None
    burst: int | None
    quota: str | None  # e.g. "1000 per DAY"
    method_throttles: dict[str, str]  # "<resource path>/<METHOD>" -> "2/s, burst 5"


def parse_plan_ids(value: str) -> dict[str, str]:
    """The stack's ``UsagePlanIds`` output, ``trial=abc123,standard=def456``, as a mapping."""
    pairs = [pair.partition("=") for pair in value.split(",") if pair.strip()]
    return {name.strip(): plan_id.strip() for name, _, plan_id in pairs}


class UsagePlans:
    """The stack's usage plans by name, and the gateway API keys that are their members."""

    def __init__(self, client: "APIGatewayClient", plan_ids: Mapping[str, str], default_plan: str | None = None):
        self._client = client
        self._plan_ids = dict(plan_ids)
        self.default_plan = default_plan

    @classmethod
    def by_name(cls, client: "APIGatewayClient") -> "UsagePlans":
        """Without a stack to name them: the plans API Gateway (or the local emulator) holds, by their names.

        Two plans of one name (two stacks in one account) are refused where they are used: pass --stack-name.
        """
        plan_ids: dict[str, str] = {}
        for page in client.get_paginator("get_usage_plans").paginate():
            for plan in page["items"]:
                name = plan.get("name", "")
                plan_ids[name] = "" if name in plan_ids else plan["id"]  # "" marks a name two plans share
        return cls(client, plan_ids)

    @property
    def names(self) -> list[str]:
        return sorted(self._plan_ids)

    def plan_id(self, name: str) -> str:
        plan_id = self._plan_ids.get(name)
        if plan_id is None:
            raise AdminError(f"unknown plan {name!r}; the plans are: {', '.join(self.names) or 'none'}")
        if not plan_id:
            raise AdminError(f"more than one usage plan is named {name!r}: pass --stack-name")
        return plan_id

    def create_key(self, key_id: str, plan: str) -> GatewayKey:
        """A new, enabled gateway API key named after the customer key, a member of ``plan``."""
        plan_id = self.plan_id(plan)
        created = self._client.create_api_key(
            name=key_id, description="music-api-admin: meters one customer key", enabled=True
        )
        gateway_key = GatewayKey(created["id"], created["value"])
        try:
            self._delete_retried_twins(key_id, gateway_key.id)
            self._client.create_usage_plan_key(usagePlanId=plan_id, keyId=gateway_key.id, keyType="API_KEY")
        except BaseException:
            self.delete_key(gateway_key.id)
            raise
        return gateway_key

    def _delete_retried_twins(self, key_id: str, kept: str) -> None:
        """CreateApiKey takes no idempotency token: when its response is lost, botocore's retry makes a second
        gateway key and the first is left in no plan. The name is the new customer key's id, which nothing else
        has, so every other gateway key of that name is such a twin."""
        for page in self._client.get_paginator("get_api_keys").paginate(nameQuery=key_id):
            for twin in page["items"]:
                if twin.get("name") == key_id and twin["id"] != kept:
                    self.delete_key(twin["id"])

    def delete_key(self, gateway_key_id: str) -> None:
        for membership in self._client.get_usage_plans(keyId=gateway_key_id)["items"]:
            self._client.delete_usage_plan_key(usagePlanId=membership["id"], keyId=gateway_key_id)
        self._client.delete_api_key(apiKey=gateway_key_id)

    def plan_of(self, gateway_key_id: str) -> str | None:
        """The name of the plan the gateway key belongs to; ``None`` when it belongs to none of the stack's."""
        names = {plan_id: name for name, plan_id in self._plan_ids.items()}
        found = self._client.get_usage_plans(keyId=gateway_key_id)["items"]
        return next((names[plan["id"]] for plan in found if plan["id"] in names), None)

    def assign(self, gateway_key_id: str, plan: str) -> str | None:
        """Make ``plan`` the key's only plan; returns the plan it had. API Gateway allows one plan per key and
        stage, so the old membership goes first: requests in that instant get INVALID_API_KEY (no plan)."""
        plan_id = self.plan_id(plan)
        previous = self.plan_of(gateway_key_id)
        for membership in self._client.get_usage_plans(keyId=gateway_key_id)["items"]:
            if membership["id"] != plan_id:
                self._client.delete_usage_plan_key(usagePlanId=membership["id"], keyId=gateway_key_id)
        if previous != plan:
            self._client.create_usage_plan_key(usagePlanId=plan_id, keyId=gateway_key_id, keyType="API_KEY")
        return previous

    def limits(self) -> list[PlanLimits]:
        listed = []
        for name in self.names:
            plan = self._client.get_usage_plan(usagePlanId=self.plan_id(name))
            throttle: Mapping[str, Any] = plan.get("throttle", {})
            quota: Mapping[str, Any] = plan.get("quota", {})
            listed.append(
                PlanLimits(
                    name=name,
                    rate=throttle.get("rateLimit"),
                    burst=throttle.get("burstLimit"),
                    quota=f"{quota['limit']} per {quota['period']}" if quota else None,
                    method_throttles={
                        method: f"{budget.get('rateLimit')}/s, burst {budget.get('burstLimit')}"
                        for stage in plan.get("apiStages", [])
                        for method, budget in (stage.get("throttle") or {}).items()
                    },
                )
            )
        return listed


@dataclass(frozen=True)
class MeteredKeys:
    """Keys with their usage plans: the auth table's item and the gateway's key, made and changed together."""

    repository: AuthRepository
    plans: UsagePlans

    def issue(
        self, user_id: str, plaintext: str, environment: Environment, plan: str, expires_at: datetime | None = None
    ) -> StoredApiKey:
        """Store ``plaintext`` (hashed) for ``user_id`` as a key of ``environment``, metered by ``plan``: the
        gateway key first, then the item that names it, so an item never points at a gateway key that does not
        exist. A refused item (unknown user, too many keys, a concurrent change, a key of another environment)
        deletes the gateway key again; an item whose write committed on an attempt whose response was lost is
        reported as written (AuthRepository's request tokens), so its gateway key stays."""
        gateway_key = self.plans.create_key(key_id_of(digest_of(plaintext)), plan)
        try:
            return self.repository.create_api_key(user_id, plaintext, environment, gateway_key, expires_at)
        except BaseException:
            # The first error is the one to report; a gateway key left behind meters nothing.
            with suppress(BotoCoreError, ClientError):
                self.plans.delete_key(gateway_key.id)
            raise

    def change_plan(self, user_id: str, key_id: str, plan: str) -> str | None:
        """Move one of the user's keys to ``plan``; returns its previous plan. The authorizer's cached result
        names the gateway key, not its plan, so the change does not wait for the authorizer TTL."""
        api_key = self.repository.get_user_key(user_id, key_id)
        return self.plans.assign(api_key.gateway_key_id, plan)
