"""The layer is laid out by request path: each function loads its own package and the core, nothing else."""

import ast
import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "shared" / "music_api"


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


PACKAGES = ("core", "generations", "access", "engines", "creation", "dispatch", "tracks")


def all_but(*allowed: str) -> tuple[str, ...]:
    """Every layer package but ``allowed`` (the package itself and what it builds on), the CLI and the local stack."""
    return (*(f"music_api.{package}" for package in PACKAGES if package not in allowed), "music_admin", "music_local")


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("core", all_but("core")),
        ("generations", all_but("core", "generations")),
        ("access", all_but("core", "access")),
        ("engines", all_but("core", "engines")),
        # Create builds on the job writer and the public job of generations/, the catalogue of engines/, the track
        # store of tracks/ (seed_track_id), and sends each new job's message through dispatch/.
        ("creation", all_but("core", "creation", "generations", "engines", "tracks", "dispatch")),
        # The sweeper reads its index and writes through the job writer; it knows no route.
        ("dispatch", all_but("core", "dispatch", "generations")),
        # A track is what the job writer of generations/ wrote with its job: the track route reads it with
        # generations' stored model and key, and signs with generations' signer and settings (never the writer).
        ("tracks", all_but("core", "tracks", "generations")),
    ],
)
def test_request_paths_do_not_import_each_other(package: str, forbidden: tuple[str, ...]) -> None:
    crossing = {name for name in imported_modules(package) if name.startswith(forbidden)}

    assert crossing == set()


# Operator writes live in admin/. The one writer in the layer is the job lifecycle: generation workers
# run it from their own code, so it ships in the layer, but only in a module the GET function never loads.
# Create's idempotency records (creation/idempotency.py) are written by Powertools' persistence layer on a table
# of their own, and only create loads it (the cold-start test below).
JOB_WRITER = LAYER / "generations" / "writer.py"
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


# The functions that change jobs (create, cancel, the dispatch sweeper) load the writer; GET, the list and the
# rest never do.
WRITING_FUNCTIONS = {"create_generation", "cancel_generation", "dispatch_sweeper"}


@pytest.mark.parametrize(
    ("function", "own", "foreign"),
    [
        ("get_generation", "music_api.generations", all_but("core", "generations")),
        ("cancel_generation", "music_api.generations", all_but("core", "generations")),
        ("list_generations", "music_api.generations", all_but("core", "generations")),
        ("authorizer", "music_api.access", all_but("core", "access")),
        ("list_engines", "music_api.engines", all_but("core", "engines")),
        (
            "create_generation",
            "music_api.creation",
            all_but("core", "creation", "generations", "engines", "tracks", "dispatch"),
        ),
        ("get_track", "music_api.tracks", all_but("core", "tracks", "generations")),
        ("dispatch_sweeper", "music_api.dispatch", all_but("core", "dispatch", "generations")),
    ],
)
def test_a_cold_start_loads_only_its_own_request_path(function: str, own: str, foreign: tuple[str, ...]) -> None:
    """What Lambda's INIT imports, in a fresh interpreter: the function's package and the core, nothing else."""
    modules = loaded_by("app", ROOT / "functions" / function)

    assert any(name.startswith(own) for name in modules)
    assert [name for name in modules if name.startswith((*foreign, "music_admin", "music_local"))] == []
    # Only the functions that change jobs load the writer; only create loads Powertools' idempotency utility.
    assert ("music_api.generations.writer" in modules) is (function in WRITING_FUNCTIONS)
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
