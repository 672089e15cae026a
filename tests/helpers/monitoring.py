"""monitoring.yaml, the nested application ``Monitoring`` of template.yaml: the alarms, the operations dashboard
and the 429 metric filter, read as template.yaml deploys it (its parameters' defaults passed through)."""

from functools import cache
from typing import Any

from music_local.template import Template, default_template

APPLICATION = "Monitoring"


@cache
def monitoring() -> Template:
    return default_template().application(APPLICATION)


def passed(name: str) -> Any:
    """What template.yaml passes as the monitoring parameter ``name`` (a ``Ref``, ``Fn::GetAtt``, ...)."""
    return default_template().resource(APPLICATION)["Properties"]["Parameters"][name]


def alarms() -> dict[str, dict[str, Any]]:
    """Every alarm, in the order of monitoring.yaml."""
    template = monitoring()
    return {name: template.resource(name) for name in template.resources_of_type("AWS::CloudWatch::Alarm")}
