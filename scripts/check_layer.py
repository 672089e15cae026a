"""Fail unless a built Lambda layer is what the python3.13 arm64 runtime can use without compiling anything:
aarch64 native code only, and for every ``.py`` its CPython 3.13 ``.pyc``, hash-based (``/opt`` is read-only on
Lambda, so a missing or timestamp-based ``.pyc`` means compiling that module on every cold start).

Usage: check_layer.py LAYER_PYTHON_DIR
"""

import sys
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
MACHINES = {62: "x86_64", 183: "aarch64"}
REQUIRED = "pydantic_core/_pydantic_core.*.so"
# The runtime's bytecode: CPython 3.13's cache tag and magic number (importlib.util.MAGIC_NUMBER on 3.13).
CACHE_TAG = "cpython-313"
MAGIC = (3571).to_bytes(2, "little") + b"\r\n"
HASH_BASED = 0b01  # PEP 552: bit 0 of the flags word after the magic number


def elf_machine(path: Path) -> str:
    """The ELF header's e_machine (offset 18, little-endian) as an architecture name."""
    header = path.read_bytes()[:20]
    if len(header) < 20 or not header.startswith(ELF_MAGIC):
        return "not-elf"
    code = int.from_bytes(header[18:20], "little")
    return MACHINES.get(code, f"machine-{code}")


def bytecode_problem(source: Path) -> str | None:
    """Why ``source`` would be compiled at import on a read-only file system, or ``None``."""
    compiled = source.parent / "__pycache__" / f"{source.stem}.{CACHE_TAG}.pyc"
    if not compiled.is_file():
        return f"has no {CACHE_TAG} bytecode"
    header = compiled.read_bytes()[:8]
    if header[:4] != MAGIC:
        return f"has bytecode of another Python ({header[:4]!r}, not CPython 3.13)"
    if not int.from_bytes(header[4:8], "little") & HASH_BASED:
        return "has timestamp-based bytecode (recompiled: a zip dates every file 1980-01-01)"
    return None


def problems(layer_dir: Path) -> list[str]:
    found = []
    if not any(layer_dir.glob(REQUIRED)):
        found.append(f"{REQUIRED} is missing from {layer_dir}")
    for library in sorted(layer_dir.rglob("*.so")):
        machine = elf_machine(library)
        if machine != "aarch64":
            found.append(f"{library.relative_to(layer_dir)} is {machine}, not aarch64")
    for source in sorted(layer_dir.rglob("*.py")):
        problem = bytecode_problem(source)
        if problem:
            found.append(f"{source.relative_to(layer_dir)} {problem}")
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    layer_dir = Path(argv[1])
    found = problems(layer_dir)
    for problem in found:
        print(f"layer check: {problem}", file=sys.stderr)
    if not found:
        libraries = sum(1 for _ in layer_dir.rglob("*.so"))
        modules = sum(1 for _ in layer_dir.rglob("*.py"))
        print(
            f"layer check: {libraries} native libraries, all aarch64, pydantic_core present; "
            f"{modules} modules, each with hash-based {CACHE_TAG} bytecode"
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
