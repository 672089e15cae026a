"""docs/openapi.yaml is what scripts/generate_openapi.py builds from the models, and a valid OpenAPI 3.1 document."""

import re
from pathlib import Path
from typing import Any

import yaml
from openapi_spec_validator import validate
from scripts import generate_openapi
from scripts.generate_openapi import GATEWAY_TIMESTAMP, HANDLER_TIMESTAMP, OUTPUT, build_document, main, render

from music_api.core.errors import GATEWAY_RESPONSES
from music_api.core.ids import is_job_id, is_organization_id

STATUSES = {"200", "400", "401", "403", "404", "413", "415", "429", "500", "502", "503", "504"}


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(OUTPUT.read_text(encoding="utf-8"))
    return loaded


def operation() -> dict[str, Any]:
    found: dict[str, Any] = document()["paths"][generate_openapi.PATH]["get"]
    return found


def test_the_committed_document_is_what_the_generator_builds() -> None:
    assert OUTPUT.read_text(encoding="utf-8") == render(), "docs/openapi.yaml is out of date: run `make openapi`"
    assert document() == build_document()


def test_the_document_is_valid_openapi_3_1() -> None:
    spec = document()

    validate(spec)
    assert spec["openapi"].startswith("3.1.")


def test_check_mode_fails_on_drift_and_passes_when_current(tmp_path: Path) -> None:
    target = tmp_path / "openapi.yaml"

    assert main(["--check", "--output", str(target)]) == 1  # missing
    assert main(["--output", str(target)]) == 0
    assert main(["--check", "--output", str(target)]) == 0
    target.write_text(target.read_text(encoding="utf-8").replace("no-store", "no-cache"), encoding="utf-8")
    assert main(["--check", "--output", str(target)]) == 1


def test_every_gateway_made_status_is_documented() -> None:
    documented = set(operation()["responses"])

    assert {str(response.error.status) for response in GATEWAY_RESPONSES.values()} <= documented


def test_every_status_the_api_can_answer_is_documented_with_the_error_envelope() -> None:
    responses = operation()["responses"]

    assert set(responses) == STATUSES
    for status, response in responses.items():
        schema = response["content"]["application/json"]["schema"]["$ref"]
        assert schema == (
            "#/components/schemas/GenerationJob" if status == "200" else "#/components/schemas/ErrorResponse"
        )
        assert {"X-Request-Id", "Cache-Control"} <= set(response["headers"])
        assert ("Retry-After" in response["headers"]) == (status in {"200", "429", "502", "503", "504"})


def test_the_path_parameters_carry_the_id_rules_anchored() -> None:
    parameters = {parameter["name"]: parameter for parameter in operation()["parameters"]}

    organization = re.compile(parameters["organization_id"]["schema"]["pattern"])
    job = re.compile(parameters["job_id"]["schema"]["pattern"])
    for value in ("org_abc123", "org_x", "org_abc123/x", "xorg_abc123", "org_abc123!"):
        assert (organization.search(value) is not None) == is_organization_id(value), value
    for value in ("mgen_2f8b1c4e9a7d", "mgen_short", "mgen_2f8b1c4e9a7d!", "amgen_2f8b1c4e9a7d"):
        assert (job.search(value) is not None) == is_job_id(value), value


def test_the_api_key_header_is_the_security_scheme() -> None:
    spec = document()

    assert spec["security"] == [{"ApiKey": []}]
    assert spec["components"]["securitySchemes"]["ApiKey"] == spec["components"]["securitySchemes"]["ApiKey"] | {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }


def test_error_timestamps_accept_the_handlers_and_the_gateways_format() -> None:
    timestamp = document()["components"]["schemas"]["ErrorBody"]["properties"]["timestamp"]

    assert "format" not in timestamp
    assert timestamp["type"] == "string"
    assert "28/Jun/2026:10:31:05 +0000" in timestamp["description"]
    assert re.search(HANDLER_TIMESTAMP, "2026-06-28T10:31:05Z")
    assert re.search(GATEWAY_TIMESTAMP, "28/Jun/2026:10:31:05 +0000")
    assert not re.search(HANDLER_TIMESTAMP, "2026-06-28T10:31:05+00:00")


def test_every_response_key_is_required() -> None:
    schemas = document()["components"]["schemas"]

    for name in ("GenerationJob", "TrackSummary", "ErrorResponse", "ErrorBody"):
        assert set(schemas[name]["required"]) == set(schemas[name]["properties"]), name
        assert schemas[name]["additionalProperties"] is False, name
