"""The layer's build ships bytecode Lambda can use as is, and two builds from different folders are identical."""

import marshal
from pathlib import Path

from scripts.check_layer import problems

from tests.helpers.built import build_layer


def tree(directory: Path) -> dict[str, bytes]:
    return {str(path.relative_to(directory)): path.read_bytes() for path in directory.rglob("*") if path.is_file()}


def test_two_builds_from_different_folders_are_byte_identical_and_pass_the_layer_check(tmp_path: Path) -> None:
    first = build_layer(tmp_path / "scratch-one", tmp_path / "artifacts-one")
    second = build_layer(tmp_path / "another" / "scratch-two", tmp_path / "artifacts-two")

    assert problems(first) == []
    first_tree, second_tree = tree(first), tree(second)
    assert sorted(first_tree) == sorted(second_tree)
    assert [name for name in first_tree if first_tree[name] != second_tree[name]] == []
    compiled = [name for name in first_tree if name.endswith(".pyc")]
    assert len(compiled) == sum(1 for name in first_tree if name.endswith(".py"))
    assert "music_api/__pycache__/__init__.cpython-313.pyc" in compiled
    assert not any("__pycache__" in name and not name.endswith(".cpython-313.pyc") for name in first_tree)


def test_the_bytecode_names_the_files_where_lambda_mounts_them(tmp_path: Path) -> None:
    layer = build_layer(tmp_path / "scratch", tmp_path / "artifacts")

    compiled = (layer / "music_api" / "__pycache__" / "__init__.cpython-313.pyc").read_bytes()

    code = marshal.loads(compiled[16:])  # noqa: S302 - bytecode this test just built # nosec B302
    assert code.co_filename == "/opt/python/music_api/__init__.py"  # tracebacks as on Lambda, whatever the folder
