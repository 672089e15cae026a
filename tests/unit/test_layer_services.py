"""The layer keeps botocore's data for the services listed in layers/shared/botocore-services.txt only (its
Makefile removes the rest): every service a function may call, by its policies or by the layer's code, is listed.
A missing one would fail on Lambda only (the tests run on the dev venv's full botocore)."""

import re
from pathlib import Path

import botocore

from music_local.template import Template
from sam_template.loader import ROOT

LAYER = ROOT / "layers" / "shared"
KEPT = set((LAYER / "botocore-services.txt").read_text().split())
CLIENT = re.compile(r"""\.client\(\s*["']([a-z0-9-]+)["']""")


def policy_services() -> set[str]:
    template = Template.load()
    services = set()
    for function in template.resources_of_type("AWS::Serverless::Function"):
        arns = {name: f"arn:aws:{name}" for name in template.document["Resources"]}
        for policy in template.function_policies(function, arns):
            for statement in policy["Statement"]:
                actions = statement["Action"]
                services |= {action.split(":")[0] for action in ([actions] if isinstance(actions, str) else actions)}
    return services


def test_every_service_in_a_function_policy_keeps_its_botocore_data() -> None:
    services = policy_services()

    assert "dynamodb" in services
    assert services <= KEPT, f"add {sorted(services - KEPT)} to layers/shared/botocore-services.txt"


def test_every_client_the_layer_creates_keeps_its_botocore_data() -> None:
    created = {name for path in (LAYER / "music_api").rglob("*.py") for name in CLIENT.findall(path.read_text())}

    assert "dynamodb" in created
    assert created <= KEPT, f"add {sorted(created - KEPT)} to layers/shared/botocore-services.txt"


def test_the_list_names_botocore_services() -> None:
    data = Path(botocore.__file__).parent / "data"
    assert all((data / service).is_dir() for service in KEPT)
