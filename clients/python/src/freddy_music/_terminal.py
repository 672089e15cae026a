"""Server text on a terminal: shown, never obeyed.

A title, a status or an error message comes from the server. Written as it is, an escape sequence in it
(``ESC [ 31 m``, ``ESC ] 0 ;`` a window title, the C1 ``CSI``) would drive the terminal, and a bidirectional
override (U+202E) would reorder what the user reads. Every character that is not printable (C0, DEL, C1, the
Unicode format characters such as the bidi controls and zero-width joiners, line and paragraph separators,
surrogates, private-use and unassigned code points) is shown as its Python escape (``\\x1b``, ``\\u202e``) instead.
"""

import json


def printable(text: str) -> str:
    """``text`` with every character that is not printable replaced by its escape: one line, inert."""
    if text.isprintable():
        return text
    return "".join(character if character.isprintable() else _escape(character) for character in text)


def printable_json(value: object) -> str:
    """``value`` as indented JSON whose strings keep their characters, except those that are not printable: JSON
    escapes them (``\\u001b``, ``\\u202e``), so the text is the same JSON and inert on a terminal."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    if text.replace("\n", "").isprintable():
        return text
    return "".join(
        character if character == "\n" or character.isprintable() else json.dumps(character)[1:-1] for character in text
    )


def _escape(character: str) -> str:
    return character.encode("unicode_escape").decode("ascii")
