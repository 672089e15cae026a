"""Writing a download so that the destination is either the whole file or untouched."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


class PartialFile:
    """A temporary file beside the destination that an attempt can start over in."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file

    def restart(self) -> None:
        self._file.seek(0)
        self._file.truncate()

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)


@contextmanager
def replacing(destination: Path) -> Iterator[PartialFile]:
    """A partial file that replaces ``destination`` when the block ends normally and is removed otherwise."""
    descriptor, temporary = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as file:
            yield PartialFile(file)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
