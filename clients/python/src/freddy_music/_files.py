"""Writing a download so that the destination is either the whole file or untouched."""

import os
import secrets
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
    descriptor, temporary = _new_file_beside(destination)
    try:
        with os.fdopen(descriptor, "wb") as file:
            yield PartialFile(file)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _new_file_beside(destination: Path) -> tuple[int, Path]:
    """A new, empty file in the destination's folder. Created with mode 0666 less the umask, as any program's
    output file (mkstemp's 0600 would make a download unreadable to, say, a web server running as another user);
    O_EXCL, so an existing file (or a planted link) is never opened."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temporary = destination.parent / f".{destination.name}.{secrets.token_hex(6)}.part"
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue
