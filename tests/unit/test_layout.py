"""The layer's shape: one module per HTTP route in ``music_api.routes`` through the shared frame, one package per
domain, a two-line entry point per function, and each function's cold start loading only what it needs."""

import ast
import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "shared" / "music_api"
FUNCTIONS = ROOT / "functions"
ROUTES = LAYER / "routes"


def imported_modules(package: str) -> set[str]:
    """Every module named by an import statement anywhere in ``music_api.<package>``."""
    return imported_by((LAYER / package).rglob("*.py"))


def imported_by(paths: Iterable[Path]) -> set[str]:
    """Every module named by an import statement anywhere in these files, inside functions too."""
    names: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
    return names


def loaded_by(module: str, directory: Path) -> list[str]:
    """Every module loaded by importing ``module`` in a fresh interpreter started in ``directory``."""
    loaded = subprocess.run(  # noqa: S603 - this interpreter, a module the test names
        [sys.executable, "-c", f"import {module}, json, sys; print(json.dumps(sorted(sys.modules)))"],
        cwd=directory,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    modules: list[str] = json.loads(loaded.stdout)
    return modules


PACKAGES = ("core", "authorizer", "engines", "jobs", "tracks", "dispatch", "webhooks", "worker", "routes")
# The one webhook rule a new job's request is checked by: its URL's form (and the stage's URL policy in settings).
WEBHOOK_URL_RULE = ("music_api.webhooks.url", "music_api.webhooks.settings")


def all_but(*allowed: str) -> tuple[str, ...]:
    """Every layer package but ``allowed`` (the package itself and what it builds on), the CLI and the local stack."""
    return (*(f"music_api.{package}" for package in PACKAGES if package not in allowed), "music_admin", "music_local")


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("core", all_but("core")),
        ("authorizer", all_but("core", "authorizer")),
        ("engines", all_but("core", "engines")),
        # The jobs domain checks a new job against the engine catalogue and its webhook URL against the URL rule.
        ("jobs", all_but("core", "jobs", "engines", "webhooks")),
        # A track is what the job writer wrote with its job: read with the jobs' stored model and key, signed with
        # the jobs' signer.
        ("tracks", all_but("core", "tracks", "jobs")),
        # The sweeper reads its indexes and writes through the job writer; it knows no route.
        ("dispatch", all_but("core", "dispatch", "jobs")),
        ("webhooks", all_but("core", "webhooks", "jobs")),
        ("worker", all_but("core", "worker", "jobs", "engines", "dispatch")),
        # The routes compose the domains; nothing else imports a route.
        ("routes", all_but(*PACKAGES)),
    ],
)
def test_domains_build_on_each_other_one_way(package: str, forbidden: tuple[str, ...]) -> None:
    crossing = {name for name in imported_modules(package) if name.startswith(forbidden)}

    assert crossing == set()


def test_the_jobs_domain_takes_only_the_webhook_url_rule_of_the_webhooks() -> None:
    """webhooks builds on jobs (a job's end is its event): jobs takes the URL rule a new job is checked by, alone."""
    webhooks = {name for name in imported_modules("jobs") if name.startswith("music_api.webhooks")}

    assert webhooks <= set(WEBHOOK_URL_RULE)


def route_modules() -> list[Path]:
    return sorted(path for path in ROUTES.glob("*.py") if path.name != "__init__.py")


@pytest.mark.parametrize("path", route_modules(), ids=lambda path: path.stem)
def test_every_route_is_one_module_declaring_parse_operation_and_answer_through_the_shared_frame(path: Path) -> None:
    """The rule of the layer: a route is one module in music_api.routes, named after its OpenAPI operationId, whose
    ``lambda_handler`` is the frame's ``route(settings=..., parse=..., operation=..., answer=...)`` and whose
    ``OPERATION`` is its OpenAPI operation; routes never import each other, and a route's function is the directory of
    the same name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assigned = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    imports = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    handler = assigned["lambda_handler"]

    assert isinstance(handler, ast.Call)
    assert isinstance(handler.func, ast.Name)
    assert handler.func.id == "route"
    assert {keyword.arg for keyword in handler.keywords} == {"settings", "parse", "operation", "answer"}
    # Its OpenAPI operation beside it: plain data that scripts/generate_openapi.py renders (tests/unit/test_openapi.py).
    assert "OPERATION" in assigned
    assert "music_api.core.route" in imports
    assert {name for name in imports if name.startswith("music_api.routes")} == set()
    assert (FUNCTIONS / path.stem / "app.py").is_file()


# The functions that are not HTTP routes, and the module whose ``lambda_handler`` each one is.
EVENT_FUNCTIONS = {
    "authorizer": "music_api.authorizer.handler",
    "dispatch_sweeper": "music_api.dispatch.handler",
    "generation_worker": "music_api.worker.handler",
    "webhook_trigger": "music_api.webhooks.trigger",
    "webhook_delivery": "music_api.webhooks.delivery",
}


def function_names() -> list[str]:
    return sorted(path.parent.name for path in FUNCTIONS.glob("*/app.py"))


@pytest.mark.parametrize("function", function_names())
def test_every_entry_point_is_two_lines_a_docstring_and_its_handler(function: str) -> None:
    """``functions/<name>/app.py`` says what the function is and imports its ``lambda_handler``: the route module of
    the same name for an HTTP route, the domain's handler for an event-driven function. Nothing else lives there."""
    tree = ast.parse((FUNCTIONS / function / "app.py").read_text(encoding="utf-8"))
    docstring, handler = tree.body

    assert isinstance(docstring, ast.Expr)
    assert isinstance(docstring.value, ast.Constant)
    assert isinstance(docstring.value.value, str)
    assert isinstance(handler, ast.ImportFrom)
    assert handler.module == EVENT_FUNCTIONS.get(function, f"music_api.routes.{function}")
    assert [(alias.name, alias.asname) for alias in handler.names] == [("lambda_handler", "lambda_handler")]


def test_every_function_but_the_event_driven_ones_is_a_route() -> None:
    assert set(function_names()) - set(EVENT_FUNCTIONS) == {path.stem for path in route_modules()}


# Operator writes live in admin/. The one writer in the layer is the job lifecycle: generation workers
# run it from their own code, so it ships in the layer, but only in a module the GET function never loads.
# Create's idempotency records (jobs/idempotency.py) are written by Powertools' persistence layer on a table
# of their own, and only create loads it (the cold-start test below).
JOB_WRITER = LAYER / "jobs" / "writer.py"
# The webhook delivery function records an endpoint that answered 410 (one put, on WEBHOOK_GONE# items only: its
# role's dynamodb:LeadingKeys); secrets are the operator's (admin/music_admin/webhook_secrets.py).
WEBHOOK_STORE = LAYER / "webhooks" / "store.py"
DYNAMODB_WRITES = (
    "transact_write_items",
    "TransactWriteItems",
    "batch_write_item",
    "BatchWriteItem",
    "put_item",
    "PutItem",
    "update_item",
    "UpdateItem",
    "delete_item",
    "DeleteItem",
)


def test_no_module_of_the_layer_but_the_job_writer_writes_to_dynamodb() -> None:
    for path in LAYER.rglob("*.py"):
        if path != JOB_WRITER:
            source = path.read_text(encoding="utf-8")
            allowed = ["put_item"] if path == WEBHOOK_STORE else []
            assert [write for write in DYNAMODB_WRITES if write in source] == allowed, path


def test_every_write_of_the_job_writer_is_conditional_and_asks_for_the_item_it_failed_on() -> None:
    """No batches or deletes. One put (create), one update (every step) and one transaction (succeed: the same
    update and the track's put, so a track exists if and only if its job succeeded); every write request, alone
    or in the transaction, carries a condition and asks for the item it failed on."""
    tree = ast.parse(JOB_WRITER.read_text(encoding="utf-8"))
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DYNAMODB_WRITES
    ]
    # A write request names its table: a call's keywords, or a request built as a dict (the update, the put).
    requests = [
        {keyword.arg: keyword.value for keyword in call.keywords} for call in calls if _keyword(call, "TableName")
    ] + [
        {key.value: value for key, value in zip(node.keys, node.values, strict=True) if isinstance(key, ast.Constant)}
        for node in ast.walk(tree)
        if isinstance(node, ast.Dict)
        and any(isinstance(key, ast.Constant) and key.value == "TableName" for key in node.keys)
    ]

    assert sorted(call.func.attr for call in calls if isinstance(call.func, ast.Attribute)) == [
        "put_item",
        "transact_write_items",
        "update_item",
    ]
    assert len(requests) == 3  # create's put, the update, the track's put
    for request in requests:
        assert "ConditionExpression" in request
        on_failure = request["ReturnValuesOnConditionCheckFailure"]
        assert isinstance(on_failure, ast.Constant)
        assert on_failure.value == "ALL_OLD"


def _keyword(call: ast.Call, name: str) -> bool:
    return any(keyword.arg == name for keyword in call.keywords)


# The functions that change jobs (create, cancel, the dispatch sweeper, the worker) load the writer; GET, the list
# and the other routes never do. The webhook functions load it for its model of a stream's job item alone
# (LifecycleJob, TERMINAL_STATUSES): their roles cannot write a job (tests/integration/test_least_privilege.py).
WRITING_FUNCTIONS = {"create_generation", "cancel_generation", "dispatch_sweeper", "generation_worker"}
READING_THE_WRITERS_MODEL = {"webhook_trigger", "webhook_delivery"}


@pytest.mark.parametrize(
    ("function", "own", "packages"),
    [
        ("get_generation", "music_api.routes.get_generation", ("jobs",)),
        ("cancel_generation", "music_api.routes.cancel_generation", ("jobs",)),
        ("list_generations", "music_api.routes.list_generations", ("jobs",)),
        ("get_track", "music_api.routes.get_track", ("jobs", "tracks")),
        ("list_engines", "music_api.routes.list_engines", ("engines",)),
        (
            "create_generation",
            "music_api.routes.create_generation",
            ("jobs", "engines", "tracks", "dispatch", "webhooks"),
        ),
        ("authorizer", "music_api.authorizer.handler", ("authorizer",)),
        ("dispatch_sweeper", "music_api.dispatch.handler", ("dispatch", "jobs")),
        ("webhook_trigger", "music_api.webhooks.trigger", ("webhooks", "jobs")),
        ("webhook_delivery", "music_api.webhooks.delivery", ("webhooks", "jobs")),
        ("generation_worker", "music_api.worker.handler", ("worker", "jobs", "engines", "dispatch")),
    ],
)
def test_a_cold_start_loads_only_what_its_function_needs(function: str, own: str, packages: tuple[str, ...]) -> None:
    """What Lambda's INIT imports, in a fresh interpreter: the function's own module, the core and the domains it
    builds on; never another route, another domain, the CLI or the local stack."""
    modules = loaded_by("app", FUNCTIONS / function)
    allowed = ("music_api.core", own, *(f"music_api.{package}" for package in packages))
    foreign = [
        name
        for name in modules
        if name.startswith(("music_api.", "music_admin", "music_local"))
        and name != "music_api.routes"
        and not name.startswith(allowed)
    ]

    assert own in modules
    assert foreign == []
    # Only the functions that change jobs load the writer; only create loads Powertools' idempotency utility.
    assert ("music_api.jobs.writer" in modules) is (function in WRITING_FUNCTIONS | READING_THE_WRITERS_MODEL)
    assert ("aws_lambda_powertools.utilities.idempotency" in modules) is (function == "create_generation")


# Dependencies point one way: the local stack builds on the operator's package and on the template reader, never
# the reverse, so that music-api-admin and the OpenAPI generator run without the emulator (moto) installed.
EMULATOR = ("music_local", "moto")


def test_the_operator_package_and_the_openapi_generator_name_no_emulator() -> None:
    """Their own imports, those made inside functions included."""
    paths = [*(ROOT / "admin").rglob("*.py"), ROOT / "scripts" / "generate_openapi.py"]

    assert {name for name in imported_by(paths) if name.split(".")[0] in EMULATOR} == set()


@pytest.mark.parametrize("entry_point", ["music_admin.cli", "scripts.generate_openapi"])
def test_the_operator_cli_and_the_openapi_generator_load_no_emulator(entry_point: str) -> None:
    """All that importing the entry point loads, in a fresh interpreter: what their imports import in turn."""
    modules = loaded_by(entry_point, ROOT)

    assert entry_point in modules
    assert [name for name in modules if name.split(".")[0] in EMULATOR] == []


CONTAINERS = LAYER / "core" / "containers.py"
FUNCTOOLS_CACHES = {"cache", "lru_cache"}
# Memoized pure computation that reads no environment (the synthesizer's sounds and motifs): nothing a test
# changes could make it stale, and clearing it would only slow the worker's next job.
PURE_CACHES = {LAYER / "worker" / "synth" / "render.py"}


def test_every_cache_of_the_layer_is_forgotten_with_its_container() -> None:
    """A cache made with functools directly would keep one test's settings or clients for the next: every cache
    of the layer is ``per_container`` (music_api.core.containers), which ``forget_containers`` clears."""
    direct = [
        f"{path.relative_to(LAYER)}:{node.lineno}"
        for path in LAYER.rglob("*.py")
        if path != CONTAINERS and path not in PURE_CACHES
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if (isinstance(node, ast.ImportFrom) and node.module == "functools" and _imports_a_cache(node))
        or (isinstance(node, ast.Attribute) and node.attr in FUNCTOOLS_CACHES)
    ]

    assert direct == []


def _imports_a_cache(node: ast.ImportFrom) -> bool:
    return any(alias.name in FUNCTOOLS_CACHES for alias in node.names)
