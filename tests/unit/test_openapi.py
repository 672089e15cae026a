"""docs/openapi.yaml is what scripts/generate_openapi.py builds, a valid OpenAPI 3.1 document, and true to the code:
every deployed route, the error catalogue's texts, the id rules, and the contract's examples verbatim."""

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from openapi_spec_validator import validate
from scripts.generate_openapi import (
    GATEWAY_TIMESTAMP,
    OPERATIONS,
    OUTPUT,
    PRINTABLE_ASCII,
    ROUTES,
    TEXT_MAX_LENGTH,
    all_errors,
    build_document,
    main,
    render,
)

from music_api.core.clock import UTC_Z_PATTERN, to_utc_z, utc_now
from music_api.core.errors import GATEWAY_RESPONSES, ApiError
from music_api.core.ids import (
    JOB_ID_MAX_LENGTH,
    JOB_ID_RULE,
    ORGANIZATION_ID_MAX_LENGTH,
    ORGANIZATION_ID_RULE,
    TRACK_ID_MAX_LENGTH,
    TRACK_ID_PATTERN,
    is_job_id,
    is_organization_id,
)
from music_local.template import default_template
from tests.helpers.contract import spec_example

GET_GENERATION = "/v1/music/{organization_id}/generations/{job_id}"
ROUTE_MODULES = Path(__file__).resolve().parents[2] / "layers" / "shared" / "music_api" / "routes"
STATUSES = {"200", "400", "401", "403", "404", "413", "415", "429", "500", "502", "503", "504"}
RETRYABLE = {"200", "429", "502", "503", "504"}
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@cache
def committed_document() -> str:
    return OUTPUT.read_text(encoding="utf-8")


def document() -> dict[str, Any]:
    """A fresh copy of the committed document each call (a test may change it): parsed by libyaml, ten times
    faster than the pure-Python parser on these 200 KB."""
    loaded: dict[str, Any] = yaml.load(committed_document(), Loader=yaml.CSafeLoader)  # nosec B506
    return loaded


def operation() -> dict[str, Any]:
    found: dict[str, Any] = document()["paths"][GET_GENERATION]["get"]
    return found


def examples(status: str) -> dict[str, Any]:
    found: dict[str, Any] = operation()["responses"][status]["content"]["application/json"]["examples"]
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


def test_every_route_the_template_deploys_is_documented_and_nothing_else() -> None:
    deployed = {(route.method.lower(), route.path) for route in default_template().routes()}
    documented = {(method, path) for path, item in document()["paths"].items() for method in item if method in METHODS}

    assert documented == deployed
    assert {(operation.method, operation.path) for operation in OPERATIONS} == deployed


def test_every_route_module_is_rendered_with_the_operation_it_declares() -> None:
    """The document is rendered from the routes' own declarations: every module of music_api.routes, each once, its
    operationId its module's name (get_generation: getGeneration)."""
    modules = {path.stem for path in ROUTE_MODULES.glob("*.py") if path.name != "__init__.py"}
    rendered = {route.__name__.rsplit(".", 1)[1]: route.OPERATION.operation_id for route in ROUTES}

    assert set(rendered) == modules
    assert len(ROUTES) == len(modules)
    for module, operation_id in rendered.items():
        first, *rest = module.split("_")
        assert operation_id == first + "".join(word.title() for word in rest)


def test_every_operation_has_a_tag_a_unique_id_and_the_four_code_samples() -> None:
    spec = document()
    operations = [item[method] for item in spec["paths"].values() for method in item if method in METHODS]
    tags = {tag["name"] for tag in spec["tags"]}

    assert len({found["operationId"] for found in operations}) == len(operations)
    for found in operations:
        assert set(found["tags"]) <= tags, found["operationId"]
        labels = [sample["label"] for sample in found["x-codeSamples"]]
        assert labels == ["cURL", "Python client", "Python requests", "JavaScript fetch"]


def test_every_status_the_route_can_answer_is_documented_with_the_error_envelope() -> None:
    responses = operation()["responses"]

    assert set(responses) == STATUSES
    for status, response in responses.items():
        schema = response["content"]["application/json"]["schema"]["$ref"]
        assert schema == (
            "#/components/schemas/GenerationJob" if status == "200" else "#/components/schemas/ErrorResponse"
        )
        assert {"X-Request-Id", "Cache-Control", "X-Content-Type-Options"} <= set(response["headers"])
        assert ("Retry-After" in response["headers"]) == (status in RETRYABLE), status
        assert not any(name.lower().startswith(("ratelimit", "x-ratelimit")) for name in response["headers"])


def test_every_gateway_response_is_named_and_shown_with_the_catalogues_texts() -> None:
    responses = operation()["responses"]

    for response_type, gateway in GATEWAY_RESPONSES.items():
        error = gateway.error()
        status = str(error.status)
        assert f"API Gateway ({response_type})" in responses[status]["description"]
        shown = [example["value"]["error"] for example in examples(status).values()]
        assert {
            "code": error.code,
            "message": error.message,
            "system_message": error.system_message,
            "type": error.type,
        }.items() <= next(body for body in shown if body["system_message"] == error.system_message).items()


def test_the_contracts_examples_are_shown_verbatim() -> None:
    assert examples("401")["contract"]["value"] == spec_example("401 Unauthorized:")
    assert examples("404")["contract"]["value"] == spec_example("404 Not Found:")
    succeeded = examples("200")["contract"]["value"]
    # Our one addition to the contract's job object; everything else, key order included, is the contract's.
    without_addition = {key: value for key, value in succeeded.items() if key != "playback_url_expires_at"}
    assert list(without_addition.items()) == list(spec_example("200 OK:").items())


@pytest.mark.parametrize("status", sorted(STATUSES))
def test_every_example_satisfies_its_schema(status: str) -> None:
    spec = document()
    reference = operation()["responses"][status]["content"]["application/json"]["schema"]["$ref"]
    validator = OAS31Validator(
        {"$ref": reference, "components": spec["components"]}, format_checker=oas31_format_checker
    )

    assert examples(status)
    for name, example in examples(status).items():
        errors = [error.message for error in validator.iter_errors(example["value"])]
        assert errors == [], f"{status} {name}: {errors}"


def test_the_path_parameters_carry_the_id_rules_anchored_with_their_longest_length() -> None:
    parameters = {parameter["name"]: parameter for parameter in operation()["parameters"]}
    organization = parameters["organization_id"]["schema"]
    job = parameters["job_id"]["schema"]

    for value in ("org_abc123", "org_x", "org_abc123/x", "xorg_abc123", "org_abc123!"):
        assert (re.search(organization["pattern"], value) is not None) == is_organization_id(value), value
    for value in ("mgen_2f8b1c4e9a7d", "mgen_short", "mgen_2f8b1c4e9a7d!", "amgen_2f8b1c4e9a7d"):
        assert (re.search(job["pattern"], value) is not None) == is_job_id(value), value
    assert organization["maxLength"] == ORGANIZATION_ID_MAX_LENGTH
    assert job["maxLength"] == JOB_ID_MAX_LENGTH
    assert ORGANIZATION_ID_RULE in parameters["organization_id"]["description"]
    assert JOB_ID_RULE in parameters["job_id"]["description"]


@pytest.mark.parametrize(
    ("prefix", "accepts", "max_length"),
    [
        ("org_", is_organization_id, ORGANIZATION_ID_MAX_LENGTH),
        ("mgen_", is_job_id, JOB_ID_MAX_LENGTH),
        ("mtrack_", lambda value: TRACK_ID_PATTERN.fullmatch(value) is not None, TRACK_ID_MAX_LENGTH),
    ],
)
def test_each_ids_max_length_is_the_longest_value_its_pattern_accepts(
    prefix: str, accepts: Callable[[str], bool], max_length: int
) -> None:
    longest = prefix + "a" * (max_length - len(prefix))

    assert accepts(longest)
    assert not accepts(longest + "a")


def test_the_api_key_header_is_the_security_scheme() -> None:
    spec = document()

    assert spec["security"] == [{"ApiKey": []}]
    assert spec["components"]["securitySchemes"]["ApiKey"] == spec["components"]["securitySchemes"]["ApiKey"] | {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }


def test_error_timestamps_accept_the_functions_and_the_gateways_format() -> None:
    timestamp = document()["components"]["schemas"]["ErrorBody"]["properties"]["timestamp"]

    assert "format" not in timestamp
    assert "28/Jun/2026:10:31:05 +0000" in timestamp["description"]
    for value in (to_utc_z(utc_now()), "28/Jun/2026:10:31:05 +0000"):
        assert re.search(timestamp["pattern"], value), value
        assert len(value) <= timestamp["maxLength"]
    assert not re.search(timestamp["pattern"], "2026-06-28T10:31:05+00:00")
    assert re.fullmatch(UTC_Z_PATTERN[1:-1], to_utc_z(utc_now()))
    assert re.search(GATEWAY_TIMESTAMP, "28/Jun/2026:10:31:05 +0000")


def test_every_text_the_catalogue_answers_fits_the_published_limits() -> None:
    texts = [
        text
        for error in all_errors()
        for text in (error.message, error.system_message, *error.details.values(), *error.details)
    ]
    every_class: list[type[ApiError]] = []
    pending: list[type[ApiError]] = [ApiError]
    while pending:
        current = pending.pop()
        every_class.extend(current.__subclasses__())
        pending.extend(current.__subclasses__())
    defaults = [cls.default_system_message for cls in every_class] + [cls.message for cls in every_class]

    for text in [*texts, *defaults, JOB_ID_RULE, ORGANIZATION_ID_RULE, "is required"]:
        assert re.fullmatch(PRINTABLE_ASCII, text), text
        assert len(text) <= TEXT_MAX_LENGTH, text


def test_every_response_key_is_required() -> None:
    schemas = document()["components"]["schemas"]

    for name in ("GenerationJob", "TrackSummary", "ErrorResponse", "ErrorBody"):
        assert set(schemas[name]["required"]) == set(schemas[name]["properties"]), name
        assert schemas[name]["additionalProperties"] is False, name
