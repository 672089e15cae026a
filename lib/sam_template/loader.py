"""template.yaml as written: CloudFormation YAML (short-form intrinsics kept as plain values), its resources and
its parameters' values.

The local stack (music_local.template) reads the resources it runs through this loader, and the OpenAPI
generator reads the stage's throttling defaults, so neither keeps a parser of its own.
"""

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Self

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


class CloudFormationLoader(yaml.CSafeLoader):
    """libyaml's SafeLoader (a tenth of the pure-Python one's time: the template is read at every start of the local
    stack) that keeps CloudFormation's short-form intrinsics (!Ref, !Sub, ...) as plain values."""


def _intrinsic(loader: yaml.CSafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]


CloudFormationLoader.add_multi_constructor("!", _intrinsic)


class SamTemplate:
    def __init__(self, document: Mapping[str, Any], root: Path = ROOT, parameters: Mapping[str, str] | None = None):
        self.document = document
        self.root = root  # the template's directory: CodeUri and the docs are relative to it
        self.parameters = dict(parameters or {})  # overrides of the parameters' defaults, as at deploy time

    @classmethod
    def load(cls, path: Path = TEMPLATE) -> Self:
        with path.open(encoding="utf-8") as stream:
            document = yaml.load(stream, Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass # nosec B506
        return cls(document, path.resolve().parent)

    def resource(self, logical_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.document["Resources"][logical_id]
        return found

    def resources_of_type(self, resource_type: str) -> list[str]:
        return [name for name, body in self.document["Resources"].items() if body["Type"] == resource_type]

    def parameter_value(self, name: str) -> Any:
        """The value a stack deployed with this template's overrides gives the parameter."""
        return self.parameters.get(name, self.document["Parameters"][name].get("Default"))


@cache
def default_template() -> SamTemplate:
    """template.yaml with its parameters' defaults, as deployed without overrides."""
    return SamTemplate.load()
