"""GET /v1/music/{organization_id}/engines: the enabled engines of the catalogue, for members of the organization.

The catalogue is the same for every organization today; the organization in the path keeps the route in the
family's shape (and the authorizer's policy) so that per-organization engines would change no client.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.aws import dynamodb_client
from music_api.core.caller import caller_of, member_organization
from music_api.core.errors import InternalError, RequestValidationError, ServiceUnavailableError
from music_api.core.ids import ORGANIZATION_ID_RULE
from music_api.core.observability import logger, metrics
from music_api.core.openapi import ORGANIZATION_ID, FunctionError, Operation, caller_errors
from music_api.core.route import Answer, route
from music_api.engines.models import EngineList
from music_api.engines.settings import EngineSettings, engine_settings
from music_api.engines.store import EngineCatalogue


@dataclass(frozen=True, slots=True)
class ListEnginesRequest:
    organization_id: str


def parse_request(event: Mapping[str, Any]) -> ListEnginesRequest:
    """Caller, then the organization: its format (400), then membership (403)."""
    return ListEnginesRequest(member_organization(event, caller_of(event)))


def list_engines(request: ListEnginesRequest, settings: EngineSettings, context: LambdaContext) -> EngineList:
    logger.append_keys(organization_id=request.organization_id)
    catalogue = EngineCatalogue(dynamodb_client(), settings.jobs_table_name)
    return EngineList(engines=[engine.listed() for engine in catalogue.enabled()])


def answer(engines: EngineList, settings: EngineSettings) -> Answer:
    metrics.add_metric(name="EnginesListed", unit=MetricUnit.Count, value=1)
    logger.debug("Engines listed", extra={"engines": len(engines.engines)})
    return Answer(200, engines)


OPERATION = Operation(
    operation_id="listEngines",
    method="get",
    path="/v1/music/{organization_id}/engines",
    tag="Engines",
    summary="List available music engines",
    description=(
        "The enabled engines of the catalogue, by key: each one's maximum duration, whether it sings and "
        "accepts lyrics, stems, languages, and the licence its tracks carry (licence_class, commercial_use, "
        "requires_attribution). Creating a generation names one of these keys; a disabled engine is not "
        "listed. Operators change the catalogue without a deploy, so read it rather than hard-coding it."
    ),
    parameters=(ORGANIZATION_ID,),
    success_status="200",
    success_model=EngineList,
    success_description="The enabled engines, sorted by key (an empty list when none is enabled).",
    errors=(
        FunctionError(
            RequestValidationError("organization_id", ORGANIZATION_ID_RULE),
            "a malformed organization_id when invoked without the gateway; details.field and details.reason "
            "name it and its rule.",
        ),
        *caller_errors(),
        FunctionError(
            InternalError(),
            "anything unexpected (a corrupt catalogue item, invalid settings); the cause is only in the logs.",
        ),
        FunctionError(ServiceUnavailableError(), "the catalogue is throttled or unreachable."),
    ),
    examples="list-engines.yaml",
)


lambda_handler = route(settings=engine_settings, parse=parse_request, operation=list_engines, answer=answer)
