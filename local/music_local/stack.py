"""The whole local stack in one object: moto server, tables, bucket and usage plans, fixtures, functions, gateway,
and the generation simulator that runs the simulated jobs."""

import os
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path

from music_local.emulator import EMULATOR_CREDENTIAL, REGION, LocalAws, MotoServer
from music_local.fixtures import Fixtures, load_fixtures, read_fixtures
from music_local.gateway import LocalFunction, LocalGateway
from music_local.metering import UsagePlanMeter
from music_local.simulator import DEMO_AUDIO, Simulator
from music_local.template import Template, default_template

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
    simulator: Simulator

    def stop(self) -> None:
        self.simulator.stop()
        self.moto.stop()


def start_stack(
    fixtures_path: Path,
    *,
    template: Template | None = None,
    log_level: str = "WARNING",
    environment: MutableMapping[str, str] | None = None,
) -> LocalStack:
    """Start the emulator, create the stack's resources, import the functions, load the fixtures, start the
    simulator.

    The fixture file is checked whole before the emulator starts: a bad file stops start-up with nothing loaded.
    The fixtures are loaded last, so that a simulated job's clock starts when the stack is ready, not before.
    """
    template = template or default_template()
    fixtures = read_fixtures(fixtures_path, template)
    moto = MotoServer()
    endpoint = moto.start()
    try:
        aws = LocalAws(endpoint)
        aws.create_resources(template)
        # The functions read os.environ; a caller running them in child processes passes its own mapping.
        target = os.environ if environment is None else environment
        target.update(function_environment(template, aws) | LOCAL_ENVIRONMENT)
        target.update({"AWS_ENDPOINT_URL": endpoint, "POWERTOOLS_LOG_LEVEL": log_level})
        functions = {
            name: LocalFunction(template, name) for name in template.resources_of_type("AWS::Serverless::Function")
        }
        gateway = LocalGateway(template, functions, UsagePlanMeter(aws.apigateway))  # reads the plans when first used
        load_fixtures(fixtures, aws)
        simulator = Simulator(aws, audio=DEMO_AUDIO.read_bytes())
        simulator.start()
        return LocalStack(moto, aws, fixtures, functions, gateway, simulator)
    except BaseException:
        moto.stop()
        raise
