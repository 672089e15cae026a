"""scripts/check_layer.py tells an arm64 layer from an x86_64 one by the ELF header, and a layer that ships its
bytecode from one that would compile modules on every cold start."""

import py_compile
from pathlib import Path

import pytest
from scripts.check_layer import elf_machine, main

AARCH64, X86_64 = 183, 62


def elf(path: Path, machine: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = b"\x7fELF\x02\x01\x01" + bytes(11) + machine.to_bytes(2, "little") + bytes(44)
    path.write_bytes(header)
    return path


def test_the_machine_is_read_from_the_elf_header(tmp_path: Path) -> None:
    assert elf_machine(elf(tmp_path / "a.so", AARCH64)) == "aarch64"
    assert elf_machine(elf(tmp_path / "b.so", X86_64)) == "x86_64"
    (tmp_path / "c.so").write_bytes(b"not an elf file at all")
    assert elf_machine(tmp_path / "c.so") == "not-elf"


def test_an_aarch64_layer_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    elf(tmp_path / "pydantic_core" / "_pydantic_core.cpython-313-aarch64-linux-gnu.so", AARCH64)

    assert main(["check", str(tmp_path)]) == 0
    assert "all aarch64" in capsys.readouterr().out


def test_an_x86_64_pydantic_core_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    elf(tmp_path / "pydantic_core" / "_pydantic_core.cpython-313-x86_64-linux-gnu.so", X86_64)

    assert main(["check", str(tmp_path)]) == 1
    assert "is x86_64, not aarch64" in capsys.readouterr().err


def test_a_layer_without_pydantic_core_fails(tmp_path: Path) -> None:
    elf(tmp_path / "other" / "_speedups.so", AARCH64)

    assert main(["check", str(tmp_path)]) == 1


def layer_with_module(tmp_path: Path, mode: py_compile.PycInvalidationMode | None) -> Path:
    """An aarch64 layer with one module, compiled in ``mode`` (``None``: not compiled)."""
    elf(tmp_path / "pydantic_core" / "_pydantic_core.cpython-313-aarch64-linux-gnu.so", AARCH64)
    source = tmp_path / "music_api" / "ids.py"
    source.parent.mkdir()
    source.write_text("PATTERN = 'x'\n")
    if mode is not None:
        py_compile.compile(str(source), doraise=True, invalidation_mode=mode)
    return tmp_path


def test_hash_based_bytecode_for_every_module_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layer = layer_with_module(tmp_path, py_compile.PycInvalidationMode.UNCHECKED_HASH)

    assert main(["check", str(layer)]) == 0
    assert "1 modules, each with hash-based cpython-313 bytecode" in capsys.readouterr().out


def test_a_module_without_bytecode_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layer = layer_with_module(tmp_path, None)

    assert main(["check", str(layer)]) == 1
    assert "music_api/ids.py has no cpython-313 bytecode" in capsys.readouterr().err


def test_timestamp_based_bytecode_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layer = layer_with_module(tmp_path, py_compile.PycInvalidationMode.TIMESTAMP)

    assert main(["check", str(layer)]) == 1
    assert "music_api/ids.py has timestamp-based bytecode" in capsys.readouterr().err


def test_bytecode_of_another_python_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layer = layer_with_module(tmp_path, py_compile.PycInvalidationMode.UNCHECKED_HASH)
    compiled = next(layer.rglob("*.pyc"))
    compiled.write_bytes((3495).to_bytes(2, "little") + compiled.read_bytes()[2:])  # CPython 3.12's magic

    assert main(["check", str(layer)]) == 1
    assert "bytecode of another Python" in capsys.readouterr().err
