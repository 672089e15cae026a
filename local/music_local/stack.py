"""The whole local stack in one object: moto server, tables and bucket, fixtures, functions, gateway."""

import os
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path

from music_local.emulator import EMULATOR_CREDENTIAL, REGION, LocalAws, MotoServer
from music_local.fixtures import Fixtures, load_fixtures, read_fixtures
from music_local.gateway import LocalFunction, LocalGateway
from music_local.template import Template, local_template

# What the functions see besides their template environment: the emulator, fake credentials, quiet logs.
LOCAL_ENVIRONMENT = {
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": EMULATOR_CREDENTIAL,
    "AWS_SECRET_ACCESS_KEY": EMULATOR_CREDENTIAL,
    "POWERTOOLS_METRICS_DISABLED": "true",
}


class EnvironmentConflictError(Exception):
    """Two functions need different values for one variable: they cannot share this process."""


def function_environment(template: Template, aws: LocalAws) -> dict[str, str]:
    """Every function's template environment merged, which is safe only because no two of them disagree.

    The functions share this process and its ``os.environ``; swapping it per invocation would race between
    threads, so the merged environment is set once, before any function is imported.
    """
    merged: dict[str, str] = {}
    for function in template.resources_of_type("AWS::Serverless::Function"):
        for name, value in template.function_environment(function, aws.names).items():
            if merged.get(name, value) != value:
                raise EnvironmentConflictError(f"{name} differs between functions ({merged[name]!r}, {value!r})")
            merged[name] = value
    return merged


@dataclass
class LocalStack:
    moto: MotoServer
    aws: LocalAws
    fixtures: Fixtures
    functions: dict[str, LocalFunction]
    gateway: LocalGateway

    def stop(self) -> None:
        self.moto.stop()


def start_stack(
    fixtures_path: Path,
    *,
    template: Template | None = None,
    log_level: str = "WARNING",
    environment: MutableMapping[str, str] | None = None,
) -> LocalStack:
    """Start the emulator, create the stack's resources, load the fixtures, import the functions.

    The fixture file is checked whole before the emulator starts: a bad file stops start-up with nothing loaded.
    """
    template = template or local_template()
    fixtures = read_fixtures(fixtures_path)
    moto = MotoServer()
    endpoint = moto.start()
    try:
        aws = LocalAws(endpoint)
        aws.create_resources(template)
        load_fixtures(fixtures, aws)
        # The functions read os.environ; a caller running them in child processes passes its own mapping.
        target = os.environ if environment is None else environment
        target.update(function_environment(template, aws) | LOCAL_ENVIRONMENT)
        target.update({"AWS_ENDPOINT_URL": endpoint, "POWERTOOLS_LOG_LEVEL": log_level})
        functions = {
            name: LocalFunction(template, name) for name in template.resources_of_type("AWS::Serverless::Function")
        }
        return LocalStack(moto, aws, fixtures, functions, LocalGateway(template, functions))
    except BaseException:
        moto.stop()
        raise
