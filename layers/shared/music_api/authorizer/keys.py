"""API keys: ``frd_<env>_`` + 30 base62 random characters (178 bits) + a 6-character base62 CRC32 checksum.

The format follows GitHub's tokens: the prefix says what a string is (secret scanners can recognise leaks), and
the checksum rejects a mistyped or made-up key before any lookup. Only the key's SHA-256 digest is stored; a key
carries 178 random bits, so neither a pepper nor a slow hash adds anything against guessing.
"""

import hashlib
import re
import secrets
import zlib
from dataclasses import dataclass
from typing import Final, Literal

Environment = Literal["live", "test"]

BASE62: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH: Final = 30
CHECKSUM_LENGTH: Final = 6
KEY_PATTERN: Final = re.compile(r"frd_(live|test)_([0-9A-Za-z]{30})([0-9A-Za-z]{6})")
KEY_ID_PATTERN: Final = re.compile(r"key_[0-9a-f]{16}")


@dataclass(frozen=True, slots=True)
class ParsedKey:
    """A key whose format and checksum are right (whether it exists is the store's business)."""

    environment: Environment
    digest: str

    @property
    def key_id(self) -> str:
        """A public, stable name for the key: the first 64 bits of its digest."""
        return key_id_of(self.digest)


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(BASE62[remainder])
    return "".join(reversed(digits))


def checksum(body: str) -> str:
    """CRC32 of everything before the checksum, so a live key cannot pass as a test key or vice versa."""
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def key_id_of(digest: str) -> str:
    return f"key_{digest[:16]}"


def parse_key(candidate: str) -> ParsedKey | None:
    """The key's digest when ``candidate`` is a well-formed key with a valid checksum, else ``None``."""
    match = KEY_PATTERN.fullmatch(candidate)
    if match is None:
        return None
    body = candidate[:-CHECKSUM_LENGTH]
    if not secrets.compare_digest(checksum(body), match.group(3)):
        return None
    environment: Environment = "live" if match.group(1) == "live" else "test"
    return ParsedKey(environment=environment, digest=digest_of(candidate))
