"""Create's body as the client sends it: numbers of any size, text with any character, fields of any name.

Each case ends in a 400 naming the field (or saying the body is no JSON), never in an exception that escapes."""

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from music_api.core.errors import BodyFieldError, InvalidJsonError
from music_api.routes.create_generation import MAX_INTEGER_DIGITS, UNKNOWN_FIELD, parse_request
from tests.helpers.events import load_event

VALID = {"engine": "studio", "prompt": "Warm lo-fi piano", "duration_seconds": 60}
TEXT_FIELDS = ("prompt", "lyrics", "title", "style_tags")
SINGLE_LINE_FIELDS = ("title", "style_tags")
# Every control character (C0, DEL, C1) and the format characters no text field takes.
CONTROLS = [chr(code) for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))]
REFUSED_FORMAT = [
    chr(code) for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF, 0xFFF9, 0xFFFA, 0xFFFB)
]
# Taken by prompt and lyrics, refused in a title or tag.
LINE_BREAKS = ["\t", "\n", "\r", "\u2028", "\u2029"]


def event_with(raw: str) -> dict[str, Any]:
    event = load_event("create_generation.json")
    event["body"] = raw
    return event


def refusal(body: dict[str, Any] | str) -> BodyFieldError | InvalidJsonError:
    raw = body if isinstance(body, str) else json.dumps(body)
    with pytest.raises((BodyFieldError, InvalidJsonError)) as raised:
        parse_request(event_with(raw))
    assert isinstance(raised.value, BodyFieldError | InvalidJsonError)
    return raised.value


def with_text(field: str, text: str) -> dict[str, Any]:
    return {**VALID, field: [text] if field == "style_tags" else text}


def field_of(field: str) -> str:
    return "style_tags.0" if field == "style_tags" else field


# --- numbers ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sign", ["", "-"])
def test_a_5000_digit_duration_is_a_400_naming_the_field(sign: str) -> None:
    raw = json.dumps(VALID).replace('"duration_seconds": 60', f'"duration_seconds": {sign}{"9" * 5000}')

    error = refusal(raw)

    assert isinstance(error, BodyFieldError)
    assert error.details == {
        "field": "duration_seconds",
        "reason": f"must be a number of at most {MAX_INTEGER_DIGITS} digits",
    }


@pytest.mark.parametrize(
    "where",
    [
        '"tempo": {digits}',  # an unknown field
        '"style_tags": [{digits}]',
        '"title": {{"nested": [{digits}]}}',
        '"instrumental": -{digits}',
    ],
)
def test_a_huge_integer_anywhere_in_the_body_is_a_400(where: str) -> None:
    raw = json.dumps(VALID)[:-1] + ", " + where.format(digits="7" * 5000) + "}"

    error = refusal(raw)

    assert error.status == 400
    assert "7" * 50 not in json.dumps(error.details)


@pytest.mark.parametrize("digits", [MAX_INTEGER_DIGITS + 1, 4300, 4301, 100_000])
def test_an_integer_longer_than_any_field_takes_is_never_converted(digits: int) -> None:
    error = refusal(json.dumps(VALID).replace("60", "1" * digits))

    assert isinstance(error, BodyFieldError)
    assert error.details["field"] == "duration_seconds"


def test_a_float_of_any_size_is_a_400_naming_the_field() -> None:
    error = refusal(json.dumps(VALID).replace("60", "1" * 5000 + ".5e999"))

    assert isinstance(error, BodyFieldError)
    assert error.details["field"] == "duration_seconds"


# --- text: printable characters ---------------------------------------------------------------------------------


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("text", ["lo-fi\u0000piano", "Night\u001b[31mDrive", "x\u007f", "x\u009b31m"])
def test_one_control_character_is_refused(field: str, text: str) -> None:
    error = refusal(with_text(field, text))

    assert isinstance(error, BodyFieldError)
    assert error.details["field"] == field_of(field)


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("text", ["lo-fi\u0000\u0000piano", "Night\u001b[31mDrive\u001b[0m"])
def test_two_control_characters_are_refused(field: str, text: str) -> None:
    error = refusal(with_text(field, text))

    assert isinstance(error, BodyFieldError)
    assert error.details["field"] == field_of(field)


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("text", ["\u0000", "\u001b", " \u0085 ", "\u202e", "\ufeff"])
def test_text_of_refused_characters_alone_is_refused(field: str, text: str) -> None:
    assert isinstance(refusal(with_text(field, text)), BodyFieldError)


@settings(max_examples=300, deadline=None, database=None)
@given(
    field=st.sampled_from(TEXT_FIELDS),
    refused=st.sampled_from(CONTROLS + REFUSED_FORMAT + LINE_BREAKS),
    before=st.text(alphabet="ab é", max_size=5),
    after=st.text(alphabet="cd ü", max_size=5),
)
def test_no_text_field_takes_a_refused_character_anywhere(field: str, refused: str, before: str, after: str) -> None:
    """Every C0 and C1 control, DEL and refused format character, at any place in any text field (tab and line
    breaks only in the multi-line prompt and lyrics)."""
    text = f"{before}x{after}"
    body = with_text(field, text[: len(before)] + refused + text[len(before) :])
    if refused in LINE_BREAKS and field not in SINGLE_LINE_FIELDS:
        assert parse_request(event_with(json.dumps(body))).body is not None
        return
    error = refusal(body)
    assert isinstance(error, BodyFieldError)
    assert error.details["field"] == field_of(field)


@settings(max_examples=200, deadline=None, database=None)
@given(
    field=st.sampled_from(TEXT_FIELDS),
    text=st.text(
        alphabet=st.characters(
            blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="".join(REFUSED_FORMAT)
        ),
        min_size=1,
        max_size=40,
    ).filter(lambda text: not text.isspace()),
)
def test_printable_text_in_any_script_is_taken_as_sent(field: str, text: str) -> None:
    body = with_text(field, text)

    parsed = parse_request(event_with(json.dumps(body))).body

    assert getattr(parsed, field) == body[field]


@pytest.mark.parametrize("field", ["prompt", "lyrics"])
def test_prompt_and_lyrics_keep_their_lines(field: str) -> None:
    body = with_text(field, "Verse one\n\tsecond line\r\nchorus")

    assert getattr(parse_request(event_with(json.dumps(body))).body, field) == body[field]


# Right-to-left and left-to-right marks (Arabic, Hebrew), a zero-width joiner (an emoji sequence), a soft hyphen.
MARKS_AND_JOINERS = [
    "\u0623\u063a\u0646\u064a\u0629\u200f 2026",
    "\u05e9\u05d9\u05e8\u200e1",
    "👩\u200d🎤 Star",
    "mi\u00adnute",
]


@pytest.mark.parametrize("text", MARKS_AND_JOINERS)
def test_marks_and_joiners_that_reorder_nothing_are_allowed_in_titles(text: str) -> None:
    assert parse_request(event_with(json.dumps(with_text("title", text)))).body.title == text


# --- unknown fields ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tempo", "a" * 64, "Key_9"])
def test_a_short_plain_unknown_field_is_named(name: str) -> None:
    error = refusal({**VALID, name: 1})

    assert isinstance(error, BodyFieldError)
    assert error.details == {"field": name, "reason": "is not a field of this request"}
    assert error.system_message == f"Invalid request body field: {name}"


@pytest.mark.parametrize(
    "name", ["a" * 65, "x" * 50_000, "<script>alert(1)</script>", "tempo ", "", "t\u00e9mpo", "\u001b[2J", "a.b"]
)
def test_any_other_unknown_field_is_not_echoed(name: str) -> None:
    error = refusal({**VALID, name: 1})

    assert isinstance(error, BodyFieldError)
    assert error.details == {"field": UNKNOWN_FIELD, "reason": "is not a field of this request"}
    assert error.system_message == f"Invalid request body field: {UNKNOWN_FIELD}"
    assert len(str(error)) < 100


# --- bytes that are not UTF-8 -----------------------------------------------------------------------------------


def test_a_body_with_a_replacement_character_is_invalid_json() -> None:
    """What API Gateway makes of bytes that are not UTF-8 in a text body: refused, not stored changed."""
    error = refusal(json.dumps(VALID, ensure_ascii=False).replace("Warm", "caf\ufffd \ufffd\ufffd"))

    assert isinstance(error, InvalidJsonError)


@pytest.mark.parametrize(
    ("raw", "accepted"),
    [
        (base64.b64encode(json.dumps(VALID).encode()).decode(), True),
        (base64.b64encode(json.dumps(VALID).encode().replace(b"Warm", b"caf\xe9 \xff\xfe")).decode(), False),
        ("not base64!", False),
    ],
)
def test_a_base64_body_is_decoded_as_strict_utf8(raw: str, accepted: bool) -> None:
    """What a binary media type (none is configured today) would make API Gateway send."""
    event = event_with(raw) | {"isBase64Encoded": True}
    if accepted:
        assert parse_request(event).body.prompt == VALID["prompt"]
    else:
        with pytest.raises(InvalidJsonError):
            parse_request(event)
