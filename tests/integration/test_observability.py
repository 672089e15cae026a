"""Logs and metrics: one correlation id per request, causes findable by trace id, no secrets anywhere."""

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools.metrics.provider import cold_start

from authorizer.app import lambda_handler as authorizer_handler
from cancel_generation.app import lambda_handler as cancel_handler
from create_generation.app import lambda_handler as create_handler
from dispatch_sweeper.app import lambda_handler as sweeper_handler
from get_generation.app import lambda_handler
from get_track.app import lambda_handler as track_handler
from list_generations.app import lambda_handler as list_handler
from music_api.authorizer.handler import UnauthorizedError
from music_api.authorizer.keys import digest_of
from music_api.core.observability import logger
from music_local.emulator import LocalAws
from music_local.gateway import LambdaContext
from tests.helpers.events import event_names, load_event
from tests.helpers.monitoring import alarms, monitoring


@pytest.fixture
def output(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """Everything the function writes: Powertools log lines (through a second handler with the same
    formatter, as the first holds the stdout of import time) and EMF metrics (printed to stdout)."""
    log_stream = io.StringIO()
    handler = logging.StreamHandler(log_stream)
    handler.setFormatter(logger.registered_formatter)
    function_logger = logging.getLogger(logger.service)
    function_logger.addHandler(handler)
    level = function_logger.level
    function_logger.setLevel(logging.DEBUG)  # every line the function can write, the per-request one included
    yield lambda: log_stream.getvalue() + capsys.readouterr().out
    function_logger.setLevel(level)
    function_logger.removeHandler(handler)


def documents(text: str) -> list[dict[str, Any]]:
    """Every JSON document in the output, one a line."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def metric_lines(written: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    return [
        document
        for document in written
        if any(m["Name"] == metric for d in document.get("_aws", {}).get("CloudWatchMetrics", []) for m in d["Metrics"])
    ]


OWN_FUNCTION = {
    "cancel_generation_": "CancelGenerationFunction",
    "list_generations": "ListGenerationsFunction",
    "get_track_": "GetTrackFunction",
}
HANDLERS = {
    "GetGenerationFunction": lambda_handler,
    "CancelGenerationFunction": cancel_handler,
    "ListGenerationsFunction": list_handler,
    "GetTrackFunction": track_handler,
}


def function_of(name: str) -> str:
    """The function an event is replayed through: its own, else GET (the authorizer's, create's and the engine
    listing's events are answered there with errors, which must not leak a key either)."""
    return next(
        (function for prefix, function in OWN_FUNCTION.items() if name.startswith(prefix)), "GetGenerationFunction"
    )


# The DEBUG line each replay's successful answers log, and how many: GET's six 200s; cancel's three (one of them
# a succeeded job, signed like GET's); the list's two pages; the two tracks (one with two stems).
ANSWER_LOGS = {
    "GetGenerationFunction": ("Generation job returned", 6),
    "CancelGenerationFunction": ("Generation job returned", 3),
    "ListGenerationsFunction": ("Generation jobs listed", 2),
    "GetTrackFunction": ("Track returned", 2),
}


@pytest.mark.parametrize(
    "function", [pytest.param(function, marks=pytest.mark.runs_as(function)) for function in ANSWER_LOGS]
)
def test_no_api_key_or_url_signature_is_ever_logged(
    function: str, aws: LocalAws, lambda_context: LambdaContext, output: Callable[[], str]
) -> None:
    message, answers = ANSWER_LOGS[function]
    signatures = []
    for name in event_names():
        if function_of(name) != function:
            continue
        event = load_event(name)
        response = HANDLERS[function](event, lambda_context)
        body = json.loads(response["body"])
        for url in [body.get("playback_url"), *body.get("stem_urls", {}).values()]:
            if url:
                signatures.append(url.rsplit("X-Amz-Signature=", 1)[1])
    text = output()

    # The list never signs; GET and cancel each replay a succeeded job.
    assert bool(signatures) is (function != "ListGenerationsFunction")
    assert text.count(f'"message":"{message}"') == answers  # the log was really captured
    assert "X-Amz-Signature" not in text
    for signature in signatures:
        assert signature not in text
    assert load_event("get_generation_succeeded.json")["headers"]["X-API-Key"] not in text
    assert "X-API-Key" not in text


@pytest.mark.runs_as("AuthorizerFunction")
def test_the_authorizer_never_logs_a_key_or_its_gateway_key(
    aws: LocalAws, lambda_context: LambdaContext, output: Callable[[], str]
) -> None:
    event = load_event("authorizer_valid_key.json")
    key = event["headers"]["X-API-Key"]
    gateway_key_value = aws.auth.get_api_key(digest_of(key)).gateway_key_value  # type: ignore[union-attr]

    policy = authorizer_handler(event, lambda_context)
    text = output()

    assert policy["usageIdentifierKey"] == gateway_key_value
    assert '"message":"API key accepted"' in text  # the log was really captured
    assert key not in text
    assert gateway_key_value not in text


@pytest.mark.runs_as("GetGenerationFunction")
def test_every_log_line_carries_the_requests_trace_id(
    aws: LocalAws, lambda_context: LambdaContext, output: Callable[[], str]
) -> None:
    response = lambda_handler(load_event("get_generation_succeeded.json"), lambda_context)
    logs = [document for document in documents(output()) if "level" in document]

    assert logs
    assert {log["correlation_id"] for log in logs} == {response["headers"]["X-Request-Id"]}
    assert logs[-1]["message"] == "Generation job returned"
    assert logs[-1]["status"] == "succeeded"


@pytest.mark.runs_as("GetGenerationFunction")
def test_a_500s_cause_is_in_the_log_under_its_trace_id(
    aws: LocalAws, lambda_context: LambdaContext, output: Callable[[], str]
) -> None:
    aws.dynamodb.delete_table(TableName=aws.jobs_table)

    response = lambda_handler(load_event("get_generation_succeeded.json"), lambda_context)
    trace_id = json.loads(response["body"])["error"]["trace_id"]
    errors = [doc for doc in documents(output()) if doc.get("level") == "ERROR" and doc["correlation_id"] == trace_id]

    assert len(errors) == 1
    assert errors[0]["error_code"] == "INTERNAL_ERROR"
    assert "ResourceNotFoundException" in errors[0]["exception"]


@pytest.mark.runs_as("AuthorizerFunction")
def test_the_authorizer_counts_a_key_of_the_other_environment_apart(
    aws: LocalAws, lambda_context: LambdaContext, output: Callable[[], str]
) -> None:
    with pytest.raises(UnauthorizedError):
        authorizer_handler(load_event("authorizer_other_environment_key.json"), lambda_context)
    written = documents(output())

    (counted,) = metric_lines(written, "AuthorizerDecision")
    assert counted["decision"] == "wrong_environment"
    (rejected,) = [document for document in written if document.get("message") == "API key rejected"]
    assert rejected["reason"] == "wrong_environment"


@pytest.mark.runs_as("GetGenerationFunction")
def test_metrics_count_results_by_status_and_errors_by_code(
    aws: LocalAws, lambda_context: LambdaContext, output: Callable[[], str]
) -> None:
    cold_start.is_cold_start = True
    lambda_handler(load_event("get_generation_running.json"), lambda_context)
    lambda_handler(load_event("get_generation_missing_job.json"), lambda_context)
    written = documents(output())

    assert len(metric_lines(written, "ColdStart")) == 1
    (returned,) = metric_lines(written, "GenerationJobReturned")
    assert returned["status"] == "running"
    assert returned["GenerationJobReturned"] == [1.0]
    (error,) = metric_lines(written, "ErrorReturned")
    assert error["error_code"] == "RESOURCE_NOT_FOUND"
    assert "status" not in error  # dimensions do not leak from one request into the next


def dashboard_searches() -> dict[str, tuple[str, set[str]]]:
    """Metric name -> (namespace, dimensions) of every SEARCH on the operations dashboard."""
    body = json.dumps(monitoring().resource("OperationsDashboard")["Properties"]["DashboardBody"])
    found = re.findall(r"SEARCH\('\{(\w+),([\w,]+)\} MetricName=\\+\"(\w+)\\+\"", body)
    return {metric: (namespace, set(dimensions.split(","))) for namespace, dimensions, metric in found}


def test_the_dashboards_searches_match_what_the_functions_emit(
    aws: LocalAws, lambda_context: LambdaContext, output: Callable[[], str]
) -> None:
    """A SEARCH schema must name a metric's dimensions exactly, or the widget stays empty."""
    lambda_handler(load_event("get_generation_running.json"), lambda_context)
    lambda_handler(load_event("get_generation_missing_job.json"), lambda_context)
    authorizer_handler(load_event("authorizer_valid_key.json"), lambda_context)
    emitted = {
        metric["Name"]: (directive["Namespace"], set(directive["Dimensions"][0]))
        for document in documents(output())
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", [])
        for metric in directive["Metrics"]
    }

    searches = dashboard_searches()
    assert set(searches) == {"GenerationJobReturned", "ErrorReturned", "AuthorizerDecision"}
    for metric, schema in searches.items():
        assert emitted[metric] == schema, metric


@pytest.mark.runs_as("CreateGenerationFunction")
def test_a_send_that_fails_is_logged_by_its_reason_and_counted_as_its_alarm_reads_it(
    aws: LocalAws, lambda_context: LambdaContext, output: Callable[[], str]
) -> None:
    """The client gets its 202; the log says why, never where (no queue URL or ARN, no role)."""
    aws.sqs.delete_queue(QueueUrl=aws.generation_queue_url)

    response = create_handler(load_event("create_generation.json"), lambda_context)
    text = output()
    written = documents(text)

    assert response["statusCode"] == 202
    (warning,) = [document for document in written if document.get("level") == "WARNING"]
    assert warning["message"] == "Generation job not sent to the queue; the sweeper will"
    assert warning["reason"]
    assert warning["job_id"] == json.loads(response["body"])["id"]
    for never in (aws.generation_queue_url, aws.generation_queue, "arn:aws:sqs", "CreateGenerationFunctionRole"):
        assert never not in text
        assert never not in response["body"]
    (failed,) = metric_lines(written, "GenerationDispatchFailed")
    alarm = alarms()["GenerationDispatchFailureAlarm"]["Properties"]
    assert failed["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[d["Name"] for d in alarm["Dimensions"]]]
    assert failed["service"] == alarm["Dimensions"][0]["Value"]


@pytest.mark.runs_as("DispatchSweeperFunction")
def test_each_sweep_counts_its_work_as_the_alarms_read_it(
    aws: LocalAws, lambda_context: LambdaContext, output: Callable[[], str]
) -> None:
    result = sweeper_handler(load_event("dispatch_sweep.json"), lambda_context)
    written = documents(output())

    (counts,) = [document for document in written if document.get("message") == "Dispatch sweep done"]
    assert {name: counts[name] for name in result} == result
    alarm = alarms()["UnscheduledJobsAlarm"]["Properties"]
    for metric in ("GenerationJobRedispatched", "GenerationJobUnscheduled", "GenerationRedispatchFailed"):
        (line,) = metric_lines(written, metric)
        dimensions = next(d["Dimensions"] for d in line["_aws"]["CloudWatchMetrics"] if d["Metrics"][0]["Name"])
        assert dimensions == [[d["Name"] for d in alarm["Dimensions"]]], metric


@pytest.mark.runs_as("CreateGenerationFunction")
@pytest.mark.parametrize("name", ["x" * 50_000, "<script>alert(1)</script>"])
def test_a_refused_field_name_is_neither_echoed_nor_logged(
    name: str, aws: LocalAws, lambda_context: LambdaContext, output: Callable[[], str]
) -> None:
    event = load_event("create_generation.json")
    event["body"] = json.dumps({**json.loads(event["body"]), name: 1})

    response = create_handler(event, lambda_context)
    text = output()

    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["details"]["field"] == "an unknown field"
    assert name not in response["body"]
    assert name not in text
    assert '"error_code":"VALIDATION_ERROR"' in text  # the refusal's line was really captured
    assert max(len(line) for line in text.splitlines()) < 2000
