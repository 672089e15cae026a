"""The whole local stack in one object: moto server, tables, bucket, queues and usage plans, fixtures, functions,
gateway, the functions' SQS event sources (the generation worker runs the created jobs, the webhook delivery
function posts events), DynamoDB stream event sources (the webhook trigger), the generation simulator that runs
the simulated jobs and the directed ones, and the functions' schedules."""

from dataclasses import dataclass
from pathlib import Path

from music_admin.webhook_secrets import WebhookSecrets
from music_local.emulator import REGION, LocalAws, MotoServer
from music_local.fixtures import Fixtures, load_fixtures, read_fixtures
from music_local.gateway import LocalFunction, LocalGateway
from music_local.metering import UsagePlanMeter
from music_local.queues import QueueConsumers
from music_local.scheduler import Scheduler
from music_local.simulator import DEMO_AUDIO, Simulator
from music_local.streams import StreamRunner, stream_sources
from music_local.template import Template, local_template

# moto answers slower than DynamoDB, and shares its machine (and, under make run, its process) with everything
# else: locally a call may take 5 s before the functions give up on it, not Lambda's 1.5 s.
LOCAL_READ_TIMEOUT_SECONDS = "5"


def function_environment(template: Template, aws: LocalAws, function: str, log_level: str) -> dict[str, str]:
    """What one function's execution environment holds: its template variables, the emulator, the local read
    timeout and the credentials of its own execution role; on a test stage, webhooks may go to a loopback
    receiver (never on AWS, where loopback is the Lambda runtime's own). Metrics stay on, EMF lines on stdout
    as in Lambda:
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
        | ({"WEBHOOK_LOOPBACK_ALLOWED": "true"} if template.parameter_value("ApiKeyEnvironment") == "test" else {})
    )


def local_functions(template: Template, aws: LocalAws, log_level: str = "WARNING") -> dict[str, LocalFunction]:
    """Every function of the template, each in an execution environment of its own."""
    return {
        name: LocalFunction(template, name, function_environment(template, aws, name, log_level))
        for name in template.resources_of_type("AWS::Serverless::Function")
    }


GENERATION_WORKER = "GenerationWorkerFunction"


@dataclass
class LocalStack:
    moto: MotoServer
    aws: LocalAws
    fixtures: Fixtures
    functions: dict[str, LocalFunction]
    gateway: LocalGateway
    simulator: Simulator
    scheduler: Scheduler
    streams: StreamRunner
    consumers: QueueConsumers
    webhook_secrets: dict[str, str]  # organization id -> its whsec_ secret, made at start (the banner prints one)

    def stop(self) -> None:
        self.streams.stop()
        self.scheduler.stop()
        self.consumers.stop()
        self.simulator.stop()
        self.moto.stop()


def start_stack(
    fixtures_path: Path,
    *,
    template: Template | None = None,
    log_level: str = "WARNING",
    generation: bool = True,
) -> LocalStack:
    """Start the emulator, create the stack's resources and roles, import the functions, load the fixtures, start
    the simulator and the schedules.

    The fixture file is checked whole before the emulator starts: a bad file stops start-up with nothing loaded.
    The fixtures are loaded last, so that a simulated job's clock starts when the stack is ready, not before.
    Without ``generation``, nothing consumes the generation queue: created jobs stay queued (the API alone).
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
        secrets = WebhookSecrets(aws.dynamodb, aws.auth_table)
        webhook_secrets = {org.id: secrets.create_secret(org.id) for org in fixtures.content.organizations}
        simulator = Simulator(aws, audio=DEMO_AUDIO.read_bytes(), writes=moto.item_writes)
        simulator.start()
        environments = {name: function.environment for name, function in functions.items()}
        events = template.queue_events()
        consumed = None if generation else [event.function for event in events if event.function != GENERATION_WORKER]
        consumers = QueueConsumers(
            template, aws, environments, claims={GENERATION_WORKER: simulator.claim}, only=consumed
        )
        consumers.start()
        scheduler = Scheduler(template.schedules(), functions)
        scheduler.start()
        streams = StreamRunner(stream_sources(template), functions, aws, writes=moto.item_writes)
        streams.start()
        return LocalStack(
            moto, aws, fixtures, functions, gateway, simulator, scheduler, streams, consumers, webhook_secrets
        )
    except BaseException:
        moto.stop()
        raise
