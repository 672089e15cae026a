"""The whole local stack in one object: moto server, tables, bucket, queues and usage plans, fixtures, functions,
gateway, the generation simulator that runs the simulated and the created jobs, and the functions' schedules."""

from dataclasses import dataclass
from pathlib import Path

from music_local.emulator import REGION, LocalAws, MotoServer
from music_local.fixtures import Fixtures, load_fixtures, read_fixtures
from music_local.gateway import LocalFunction, LocalGateway
from music_local.metering import UsagePlanMeter
from music_local.scheduler import Scheduler
from music_local.simulator import DEMO_AUDIO, Simulator
from music_local.template import Template, local_template

# moto answers slower than DynamoDB, and shares its machine (and, under make run, its process) with everything
# else: locally a call may take 5 s before the functions give up on it, not Lambda's 1.5 s.
LOCAL_READ_TIMEOUT_SECONDS = "5"


def function_environment(template: Template, aws: LocalAws, function: str, log_level: str) -> dict[str, str]:
    """What one function's execution environment holds: its template variables, the emulator, the local read
    timeout and the credentials of its own execution role. Metrics stay on, EMF lines on stdout as in Lambda:
    Powertools with POWERTOOLS_METRICS_DISABLED never clears its metric set, so dimensions would pile up across
    invocations."""
    return (
        template.function_environment(function, aws.names)
        | {
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "POWERTOOLS_LOG_LEVEL": log_level,
            "AWS_READ_TIMEOUT_SECONDS": LOCAL_READ_TIMEOUT_SECONDS,
        }
        | aws.endpoint_environment()
        | aws.function_credentials[function].environment()
    )


def local_functions(template: Template, aws: LocalAws, log_level: str = "WARNING") -> dict[str, LocalFunction]:
    """Every function of the template, each in an execution environment of its own."""
    return {
        name: LocalFunction(template, name, function_environment(template, aws, name, log_level))
        for name in template.resources_of_type("AWS::Serverless::Function")
    }


@dataclass
class LocalStack:
    moto: MotoServer
    aws: LocalAws
    fixtures: Fixtures
    functions: dict[str, LocalFunction]
    gateway: LocalGateway
    simulator: Simulator
    scheduler: Scheduler

    def stop(self) -> None:
        self.scheduler.stop()
        self.simulator.stop()
        self.moto.stop()


def start_stack(fixtures_path: Path, *, template: Template | None = None, log_level: str = "WARNING") -> LocalStack:
    """Start the emulator, create the stack's resources and roles, import the functions, load the fixtures, start
    the simulator and the schedules.

    The fixture file is checked whole before the emulator starts: a bad file stops start-up with nothing loaded.
    The fixtures are loaded last, so that a simulated job's clock starts when the stack is ready, not before.
    """
    template = template or local_template()
    fixtures = read_fixtures(fixtures_path, template)
    moto = MotoServer()
    endpoint = moto.start()
    try:
        aws = LocalAws(endpoint)
        aws.create_resources(template)
        functions = local_functions(template, aws, log_level)
        gateway = LocalGateway(template, functions, UsagePlanMeter(aws.apigateway))  # reads the plans when first used
        load_fixtures(fixtures, aws)
        simulator = Simulator(aws, audio=DEMO_AUDIO.read_bytes())
        simulator.start()
        scheduler = Scheduler(template.schedules(), functions)
        scheduler.start()
        return LocalStack(moto, aws, fixtures, functions, gateway, simulator, scheduler)
    except BaseException:
        moto.stop()
        raise
