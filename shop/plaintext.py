r"""Control characters: the one rule for what people type or upload, and for what staff read.

Terminal escape codes (ESC and the rest of C0), DEL and C1, and the Unicode bidi
overrides and isolates (U+202A–U+202E, U+2066–U+2069) change how a terminal or a
chat shows the text around them: ``\x1b[2J`` clears a screen, and U+202E before
"gpj.exe" shows it as "exe.jpg". None of them belongs in a name, an address, a
promo code or a product. What customers type is cleaned of them (`clean`), a file
the shop owner imports is refused for them (`control_in`), and staff commands show
them escaped (`visible`).
"""

from __future__ import annotations

import re

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""Every character the rule is about; line breaks and tabs among them."""

_CODES = [*range(0x00, 0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
# Controls that separate words (tab, line and record separators) leave a space, so that
# "Ann\tLee" stays two words; the others go.
_ONE_LINE = {code: " " if chr(code).isspace() else None for code in _CODES}
_MULTILINE = {**_ONE_LINE, ord("\n"): "\n", ord("\r"): "\n", ord("\t"): "\t"}
_LINE_BREAKS = "\n\r\t"  # what a text that may span lines (a description) keeps


def clean(text: str, *, multiline: bool = False) -> str:
    r"""Return `text` without control characters, as a customer's answer is kept.

    Separating controls (tab, line breaks) become spaces, others disappear. With
    `multiline`, line breaks (``\r\n`` and ``\r`` as ``\n``) and tabs stay.
    """
    if CONTROL.search(text) is None:
        return text
    if multiline:
        return text.replace("\r\n", "\n").translate(_MULTILINE)
    return text.translate(_ONE_LINE)


def control_in(text: str, *, multiline: bool = False) -> str | None:
    """Return the first control character of `text` as ``U+001B``, or None if it has none.

    With `multiline`, line breaks and tabs are allowed.
    """
    for found in CONTROL.finditer(text):
        char = found.group()
        if not (multiline and char in _LINE_BREAKS):
            return f"U+{ord(char):04X}"
    return None


def visible(text: str, *, multiline: bool = False) -> str:
    r"""Return `text` for a terminal: each control character written as ``\u001b``.

    The escapes are also JSON's own, so a JSON document stays valid. With
    `multiline`, line breaks stay.
    """
    if CONTROL.search(text) is None:
        return text

    def escape(found: re.Match[str]) -> str:
        char = found.group()
        return char if multiline and char == "\n" else f"\\u{ord(char):04x}"

    return CONTROL.sub(escape, text)
