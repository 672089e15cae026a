"""template.yaml as the local stack reads it: tables, routes, the authorizer, gateway responses, usage plans,
environments. Its nested application monitoring.yaml (alarms, dashboard) runs nothing locally; tests read it
through ``Template.application``.

Everything local is derived from the template, so the emulator cannot drift from what is deployed. The file is
read by sam_template's loader, which the OpenAPI generator shares without the emulator.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from music_api.authorizer.keys import Environment
from sam_template.loader import SamTemplate


class UnsupportedTemplateError(Exception):
    """The template uses something the local stack does not emulate."""


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # e.g. /v1/music/{organization_id}/generations/{job_id}
    function: str  # logical id

    def match(self, segments: list[str]) -> dict[str, str] | None:
        """Path parameters when the request's (still percent-encoded) segments fit this route, else ``None``.

        A parameter takes one whole, non-empty segment; its value is percent-decoded afterwards, so ``%2F``
        stays inside the parameter instead of splitting the path.
        """
        template = self.path.split("/")
        if len(template) != len(segments):
            return None
        parameters = {}
        for expected, actual in zip(template, segments, strict=True):
            name = _PARAMETER.fullmatch(expected)
            if name is None:
                if unquote(actual) != expected:
                    return None
            elif not actual:
                return None
            else:
                parameters[name.group(1)] = unquote(actual)
        return parameters


_PARAMETER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Authorizer:
    function: str  # logical id
    identity_headers: tuple[str, ...]
    ttl_seconds: int


@dataclass(frozen=True)
class GatewayResponse:
    status: int | None  # None: the response type's own status
    headers: Mapping[str, str]  # values as in the template: 'static' or context.<name>
    body_template: str


@dataclass(frozen=True)
class Throttle:
    """A token bucket: ``rate`` tokens a second up to ``burst``; a request takes one."""

    rate: float
    burst: int


@dataclass(frozen=True)
class Quota:
    limit: int
    period: str  # DAY, WEEK or MONTH


@dataclass(frozen=True)
class UsagePlan:
    name: str
    throttle: Throttle | None
    quota: Quota | None
    method_throttles: Mapping[str, Throttle]  # "<resource path>/<METHOD>" -> that method's own budget


@dataclass(frozen=True)
class Schedule:
    """A function EventBridge invokes on a ``rate(...)`` schedule (a ``Schedule`` event of the function)."""

    function: str  # logical id
    event: str  # the event's name in the template
    period_seconds: int


@dataclass(frozen=True)
class QueueEvent:
    """A function's ``SQS`` event: the queue Lambda polls for it, and how (an event source mapping)."""

    function: str  # logical id
    event: str  # the event's name in the template
    queue: str  # the queue's logical id
    batch_size: int
    reports_item_failures: bool  # FunctionResponseTypes: [ReportBatchItemFailures]
    max_concurrency: int | None  # ScalingConfig.MaximumConcurrency, resolved


_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class FunctionCode:
    directory: Path
    module: str
    handler: str


class Template(SamTemplate):
    def with_parameters(self, overrides: Mapping[str, str]) -> "Template":
        """This template as deployed with ``overrides`` (``--parameter-overrides``), each checked against the
        parameter's AllowedValues."""
        for name, value in overrides.items():
            allowed = self.document["Parameters"][name].get("AllowedValues")
            if allowed is not None and value not in allowed:
                raise UnsupportedTemplateError(f"parameter {name} must be one of {allowed}, not {value!r}")
        return Template(self.document, self.root, self.parameters | dict(overrides))

    def application(self, logical_id: str) -> "Template":
        """The template of a nested application (``AWS::Serverless::Application`` with a local ``Location``), with
        the parameters this template passes it as ``Ref`` to its own parameters set to their values."""
        properties = self.resource(logical_id)["Properties"]
        location = properties["Location"]
        if not isinstance(location, str) or "://" in location:
            raise UnsupportedTemplateError(f"{logical_id}: only a nested application in a local file")
        parameters = self.document.get("Parameters", {})
        passed = {
            name: str(self.parameter_value(value["Ref"]))
            for name, value in properties.get("Parameters", {}).items()
            if isinstance(value, Mapping) and set(value) == {"Ref"} and value["Ref"] in parameters
        }
        nested = Template.load(self.root / location)
        return Template(nested.document, nested.root, passed)

    def create_table_arguments(self, logical_id: str, table_name: str) -> dict[str, Any]:
        """``CreateTable`` arguments equivalent to an ``AWS::DynamoDB::Table`` resource's key schema."""
        properties = self.resource(logical_id)["Properties"]
        arguments: dict[str, Any] = {
            "TableName": table_name,
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "KeySchema": properties["KeySchema"],
            "BillingMode": properties["BillingMode"],
        }
        for index_kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if index_kind in properties:
                arguments[index_kind] = properties[index_kind]
        if "StreamSpecification" in properties:
            arguments["StreamSpecification"] = {"StreamEnabled": True} | properties["StreamSpecification"]
        return arguments

    def queues_in_creation_order(self) -> list[str]:
        """Every ``AWS::SQS::Queue``, a dead-letter queue before the queues that redrive to it."""
        queues = self.resources_of_type("AWS::SQS::Queue")
        return sorted(queues, key=lambda name: "RedrivePolicy" in self.resource(name).get("Properties", {}))

    def create_queue_arguments(self, logical_id: str, queue_name: str, arns: Mapping[str, str]) -> dict[str, Any]:
        """``CreateQueue`` arguments equivalent to an ``AWS::SQS::Queue`` resource: its properties are the queue's
        attributes (a redrive policy as the JSON SQS takes, its target resolved through ``arns``)."""
        attributes = {}
        for name, value in self.resource(logical_id).get("Properties", {}).items():
            if name == "RedrivePolicy":
                attributes[name] = json.dumps(_with_arns(value, arns))
            elif isinstance(value, bool):
                attributes[name] = str(value).lower()
            else:
                attributes[name] = self._resolve(value, {})
        return {"QueueName": queue_name, "Attributes": attributes}

    def schedules(self) -> list[Schedule]:
        """Every function's ``Schedule`` events (``rate(...)`` only)."""
        schedules = []
        for function in self.resources_of_type("AWS::Serverless::Function"):
            for name, event in self.resource(function)["Properties"].get("Events", {}).items():
                if event["Type"] != "Schedule":
                    continue
                rate = _RATE.fullmatch(event["Properties"]["Schedule"])
                if rate is None:
                    raise UnsupportedTemplateError(f"{function}: only rate(...) schedules, not {event['Properties']}")
                count, unit = int(rate.group(1)), rate.group(2).removesuffix("s")
                schedules.append(Schedule(function, name, count * _UNIT_SECONDS[unit]))
        return schedules

    def queue_events(self) -> list[QueueEvent]:
        """Every function's ``SQS`` events (``Queue: !GetAtt X.Arn`` only)."""
        events = []
        for function in self.resources_of_type("AWS::Serverless::Function"):
            for name, event in self.resource(function)["Properties"].get("Events", {}).items():
                if event["Type"] != "SQS":
                    continue
                properties = event["Properties"]
                target = properties["Queue"].get("Fn::GetAtt") if isinstance(properties["Queue"], Mapping) else None
                queue, attribute = (target.split(".", 1) if isinstance(target, str) else target or ["", ""])[:2]
                if attribute != "Arn":
                    raise UnsupportedTemplateError(f"{function}: an SQS event's Queue must be !GetAtt X.Arn")
                concurrency = properties.get("ScalingConfig", {}).get("MaximumConcurrency")
                events.append(
                    QueueEvent(
                        function,
                        name,
                        queue,
                        int(properties.get("BatchSize", 10)),
                        "ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
                        None if concurrency is None else int(self._resolve(concurrency, {})),
                    )
                )
        return events

    def function_setting(self, logical_id: str, name: str) -> Any:
        """A function's own property (``Timeout``, ``MemorySize``), else the Globals' value."""
        properties = self.resource(logical_id)["Properties"]
        return properties.get(name, self.document.get("Globals", {}).get("Function", {}).get(name))

    def function_code(self, logical_id: str) -> FunctionCode:
        module, handler = str(self.function_setting(logical_id, "Handler")).rsplit(".", 1)
        return FunctionCode(self.root / self.resource(logical_id)["Properties"]["CodeUri"], module, handler)

    def function_environment(self, logical_id: str, names: Mapping[str, str]) -> dict[str, str]:
        """Globals' and the function's variables, with ``Ref`` resolved: resources to ``names``, parameters to
        their values (an override, else the default)."""
        variables = dict(
            self.document.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        )
        variables |= self.resource(logical_id)["Properties"].get("Environment", {}).get("Variables", {})
        return {name: self._resolve(value, names) for name, value in variables.items()}

    def function_policies(self, logical_id: str, arns: Mapping[str, str]) -> list[dict[str, Any]]:
        """The function's inline policy documents (its SAM ``Policies``), with ``!GetAtt X.Arn`` and
        ``!Sub "${X.Arn}..."`` resolved through ``arns`` (logical id -> ARN)."""
        policies = self.resource(logical_id)["Properties"].get("Policies", [])
        documents = []
        for policy in policies if isinstance(policies, list) else [policies]:
            if not isinstance(policy, Mapping) or "Statement" not in policy:
                raise UnsupportedTemplateError(f"{logical_id}: only inline policy documents, not {policy!r}")
            documents.append(_with_arns(policy, arns))
        return documents

    def routes(self) -> list[Route]:
        routes = []
        for function in self.resources_of_type("AWS::Serverless::Function"):
            for event in self.resource(function)["Properties"].get("Events", {}).values():
                if event["Type"] != "Api":
                    continue
                routes.append(Route(event["Properties"]["Method"].upper(), event["Properties"]["Path"], function))
        return routes

    def api_properties(self) -> dict[str, Any]:
        (api,) = self.resources_of_type("AWS::Serverless::Api")
        properties: dict[str, Any] = self.resource(api)["Properties"]
        return properties

    def authorizer(self) -> Authorizer:
        auth = self.api_properties()["Auth"]
        config = auth["Authorizers"][auth["DefaultAuthorizer"]]
        function = config["FunctionArn"]["Fn::GetAtt"].split(".")[0]
        identity = config.get("Identity", {})
        ttl = self._resolve(identity.get("ReauthorizeEvery", 300), {})
        return Authorizer(function, tuple(identity.get("Headers", [])), int(ttl))

    def gateway_responses(self) -> dict[str, GatewayResponse]:
        return {
            response_type: GatewayResponse(
                status=int(body["StatusCode"]) if "StatusCode" in body else None,
                headers=dict(body.get("ResponseParameters", {}).get("Headers", {})),
                body_template=body["ResponseTemplates"]["application/json"],
            )
            for response_type, body in self.api_properties().get("GatewayResponses", {}).items()
        }

    def api_keys_from_authorizer(self) -> bool:
        """Whether every method needs an API key named by the authorizer (``usageIdentifierKey``)."""
        properties = self.api_properties()
        if not properties.get("Auth", {}).get("ApiKeyRequired", False):
            return False
        if properties.get("ApiKeySourceType") != "AUTHORIZER":
            raise UnsupportedTemplateError("the local stack reads API keys only from the authorizer")
        return True

    def usage_plans(self) -> list[UsagePlan]:
        """Every ``AWS::ApiGateway::UsagePlan``, with its limits resolved to the parameters' values."""
        plans = []
        for logical_id in self.resources_of_type("AWS::ApiGateway::UsagePlan"):
            properties = self.resource(logical_id)["Properties"]
            name = properties.get("UsagePlanName")
            if not isinstance(name, str):
                raise UnsupportedTemplateError(f"{logical_id}: UsagePlanName must be a plain string")
            quota = properties.get("Quota")
            method_throttles = {
                method: self._throttle(budget)
                for stage in properties.get("ApiStages", [])
                for method, budget in stage.get("Throttle", {}).items()
            }
            plans.append(
                UsagePlan(
                    name=name,
                    throttle=self._throttle(properties["Throttle"]) if "Throttle" in properties else None,
                    quota=Quota(int(self._resolve(quota["Limit"], {})), self._resolve(quota["Period"], {}))
                    if quota
                    else None,
                    method_throttles=method_throttles,
                )
            )
        return plans

    def access_log_format(self) -> str | None:
        """The stage's access log format (``$context`` variables), or ``None`` when access logging is off."""
        setting = self.api_properties().get("AccessLogSetting")
        if isinstance(setting, Mapping) and "Fn::If" in setting:
            condition, when_true, when_false = setting["Fn::If"]
            setting = when_true if self.condition(condition) else when_false
        if not isinstance(setting, Mapping) or "Format" not in setting:
            return None
        return str(setting["Format"])

    def condition(self, name: str) -> bool:
        """A template condition, with the parameters' values (Fn::Equals and Fn::Not only)."""
        return self._holds(self.document.get("Conditions", {})[name])

    def _holds(self, expression: Mapping[str, Any]) -> bool:
        if "Fn::Not" in expression:
            (inner,) = expression["Fn::Not"]
            return not self._holds(inner)
        if "Fn::Equals" in expression:
            left, right = (self._resolve(side, {}) for side in expression["Fn::Equals"])
            return left == right
        raise UnsupportedTemplateError(f"the local stack cannot evaluate the condition {expression!r}")

    def default_usage_plan(self) -> str:
        return str(self.parameter_value("DefaultUsagePlan"))

    def api_key_environment(self) -> Environment:
        """The one environment of key the stage accepts (ApiKeyEnvironment)."""
        value = self.parameter_value("ApiKeyEnvironment")
        if value == "test":
            return "test"
        if value == "live":
            return "live"
        raise UnsupportedTemplateError(f"ApiKeyEnvironment must be live or test, not {value!r}")

    def _throttle(self, settings: Mapping[str, Any]) -> Throttle:
        return Throttle(float(self._resolve(settings["RateLimit"], {})), int(self._resolve(settings["BurstLimit"], {})))

    def _resolve(self, value: Any, names: Mapping[str, str]) -> str:
        if isinstance(value, Mapping) and set(value) == {"Ref"}:
            reference = value["Ref"]
            if reference in names:
                return names[reference]
            if reference in self.document.get("Parameters", {}):
                return str(self.parameter_value(reference))
            raise UnsupportedTemplateError(f"the local stack cannot resolve Ref {reference!r}")
        if isinstance(value, Mapping):
            raise UnsupportedTemplateError(f"the local stack cannot resolve {value!r}")
        return str(value)


def _with_arns(value: Any, arns: Mapping[str, str]) -> Any:
    """``value`` with every ``Fn::GetAtt X.Arn`` and ``Fn::Sub`` of ``${X.Arn}`` replaced by X's ARN."""
    if isinstance(value, list):
        return [_with_arns(item, arns) for item in value]
    if not isinstance(value, Mapping):
        return value
    if set(value) == {"Fn::GetAtt"}:
        return _arn(str(value["Fn::GetAtt"]), arns)
    if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        return re.sub(r"\$\{([\w.]+)\}", lambda match: _arn(match.group(1), arns), value["Fn::Sub"])
    return {key: _with_arns(item, arns) for key, item in value.items()}


def _arn(attribute: str, arns: Mapping[str, str]) -> str:
    """``X.Arn`` is ``arns["X"]``; another ARN attribute (a table's ``X.StreamArn``) is ``arns["X.StreamArn"]``."""
    logical_id, _, name = attribute.partition(".")
    key = logical_id if name == "Arn" else attribute
    if not name.endswith("Arn") or key not in arns:
        raise UnsupportedTemplateError(f"the local stack cannot resolve {attribute!r}")
    return arns[key]


# The local stack is a test stage: it accepts frd_test_ keys only, so the demo keys can never open live data.
LOCAL_PARAMETERS = {"ApiKeyEnvironment": "test"}


@cache
def default_template() -> Template:
    """template.yaml with its parameters' defaults, as deployed without overrides."""
    return Template.load()


@cache
def local_template() -> Template:
    """template.yaml as the local stack deploys it: with LOCAL_PARAMETERS."""
    return default_template().with_parameters(LOCAL_PARAMETERS)
