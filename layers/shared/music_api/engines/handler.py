"""GET /v1/music/{organization_id}/engines: the enabled engines of the catalogue, for members of the organization.

The catalogue is the same for every organization today; the organization in the path keeps the route in the
family's shape (and the authorizer's policy) so that per-organization engines would change no client.
"""

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from music_api.core.answers import answered
from music_api.core.aws import dynamodb_client
from music_api.core.caller import caller_of, member_organization
from music_api.core.http import ProxyResponse, json_response
from music_api.core.observability import logger, metrics
from music_api.engines.models import EngineList
from music_api.engines.settings import engine_settings
from music_api.engines.store import EngineCatalogue


def handle_list_engines(event: Mapping[str, Any], context: LambdaContext) -> ProxyResponse:
    return answered(
        event,
        context,
        lambda trace_id: _list_engines(event, trace_id),
        unavailable_retry_after=lambda: engine_settings().unavailable_retry_after_seconds,
    )


def _list_engines(event: Mapping[str, Any], trace_id: str) -> ProxyResponse:
    settings = engine_settings()
    organization_id = member_organization(event, caller_of(event))
    logger.append_keys(organization_id=organization_id)
    catalogue = EngineCatalogue(dynamodb_client(), settings.jobs_table_name)
    body = EngineList(engines=[engine.listed() for engine in catalogue.enabled()])
    metrics.add_metric(name="EnginesListed", unit=MetricUnit.Count, value=1)
    logger.debug("Engines listed", extra={"engines": len(body.engines)})
    return json_response(200, body.model_dump_json(), trace_id)
