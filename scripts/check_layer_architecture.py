"""Fail unless a built Lambda layer holds aarch64 native code only (the functions run on arm64).

Usage: check_layer_architecture.py LAYER_PYTHON_DIR
"""

import sys
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
MACHINES = {62: "x86_64", 183: "aarch64"}
REQUIRED = "pydantic_core/_pydantic_core.*.so"


def elf_machine(path: Path) -> str:
    """The ELF header's e_machine (offset 18, little-endian) as an architecture name."""
    header = path.read_bytes()[:20]
    if len(header) < 20 or not header.startswith(ELF_MAGIC):
        return "not-elf"
    code = int.from_bytes(header[18:20], "little")
    return MACHINES.get(code, f"machine-{code}")


def problems(layer_dir: Path) -> list[str]:
    found = []
    if not any(layer_dir.glob(REQUIRED)):
        found.append(f"{REQUIRED} is missing from {layer_dir}")
    for library in sorted(layer_dir.rglob("*.so")):
        machine = elf_machine(library)
        if machine != "aarch64":
            found.append(f"{library.relative_to(layer_dir)} is {machine}, not aarch64")
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
        print(f"layer check: {libraries} native libraries, all aarch64, pydantic_core present")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
