"""API key format: prefix, 178 random bits, CRC32 checksum; parsing rejects anything else offline."""

import math
import re
import zlib

import pytest

from music_admin.keys import generate_key, key_hint
from music_api.authorizer.keys import (
    BASE62,
    KEY_ID_PATTERN,
    digest_of,
    key_id_of,
    parse_key,
)


@pytest.mark.parametrize("environment", ["live", "test"])
def test_generated_keys_have_the_documented_shape_and_parse(environment: str) -> None:
    key = generate_key(environment)  # type: ignore[arg-type]

    assert re.fullmatch(rf"frd_{environment}_[0-9A-Za-z]{{36}}", key)
    parsed = parse_key(key)
    assert parsed is not None
    assert parsed.environment == environment
    assert parsed.digest == digest_of(key)
    assert KEY_ID_PATTERN.fullmatch(parsed.key_id)


def test_keys_carry_at_least_160_random_bits() -> None:
    assert 30 * math.log2(len(BASE62)) >= 160
    keys = {generate_key("live") for _ in range(2000)}
    assert len(keys) == 2000
    # Every base62 character shows up in the random part: the alphabet is really used.
    assert set("".join(key[9:39] for key in keys)) == set(BASE62)


def test_the_checksum_is_crc32_of_everything_before_it_in_base62() -> None:
    key = generate_key("test")
    body, checksum = key[:-6], key[-6:]

    value = 0
    for character in checksum:
        value = value * 62 + BASE62.index(character)
    assert value == zlib.crc32(body.encode())


def test_a_single_changed_character_is_caught_by_the_checksum() -> None:
    key = generate_key("live")
    for position in range(9, len(key)):
        replacement = "A" if key[position] != "A" else "B"
        assert parse_key(key[:position] + replacement + key[position + 1 :]) is None


def test_a_live_key_relabelled_as_test_fails_its_checksum() -> None:
    key = generate_key("live")

    assert parse_key(key.replace("frd_live_", "frd_test_", 1)) is None


@pytest.mark.parametrize(
    "candidate",
    [
        "",
        " ",
        "frd_live_",
        "frd_prod_" + "a" * 36,
        "ghp_" + "a" * 36,
        "FRD_LIVE_" + "a" * 36,
        "frd_live_" + "a" * 35,
        "frd_live_" + "a" * 37,
        "frd_live_" + "a" * 30 + "-" * 6,
        "frd_live_" + "é" * 36,
        "Bearer frd_live_" + "a" * 36,
    ],
)
def test_malformed_candidates_are_rejected(candidate: str) -> None:
    assert parse_key(candidate) is None


def test_surrounding_whitespace_is_not_part_of_a_key() -> None:
    assert parse_key(" " + generate_key("live")) is None


def test_only_a_hint_and_the_digest_ever_leave_the_key() -> None:
    key = generate_key("test")

    assert key_hint(key) == f"frd_test_...{key[-4:]}"
    assert len(digest_of(key)) == 64
    assert key_id_of(digest_of(key)) == "key_" + digest_of(key)[:16]
