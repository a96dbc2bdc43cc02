"""Text folding for search: one normal form for catalog text and for what customers type.

A text is split into raw tokens by rapidfuzz's C `default_process` (lower case,
everything but letters and digits to spaces), and each distinct raw token is then
folded once (accents off, ё as е, units split from numbers, a unit's swapped letters
put back: "128bg" is "128", "gb"). The index folds its
vocabulary, not its million titles, and queries go through the very same steps.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rapidfuzz.distance import OSA
from rapidfuzz.utils import default_process

# Units customers write glued to numbers ("256gb", "1кг"); they are split off so that
# "256gb", "256 GB" and "256 ГБ" all become the tokens "256" and "gb"/"гб".
_UNITS = (
    "gb|tb|mb|kb|mah|kg|mg|ml|mm|cm|km|g|l|w|kw|v|hz|ghz|mhz|mp|lm|inch|in|pcs|pc|"
    "гб|тб|мб|мач|кг|мг|мл|мм|см|г|л|вт|квт|в|гц|ггц|мгц|мп|шт"
)
_NUMBER_UNIT = re.compile(rf"^(\d+)({_UNITS})$")
_NUMBER_LETTERS = re.compile(r"^(\d+)([^\W\d_]{2,4})$")
# A unit typed with its letters swapped ("128bg") is the unit; a longer unit ("mah", "inch")
# may have one typo of any kind. Two letters that merely differ from a unit stay as typed:
# "1000xm" is the start of a model name, not 1000 mm.
_UNIT_LETTERS = {"".join(sorted(unit)): unit for unit in _UNITS.split("|") if len(unit) > 1}
_LONG_UNITS = tuple(unit for unit in _UNITS.split("|") if len(unit) > 1)

_QWERTY = "`qwertyuiop[]asdfghjkl;'zxcvbnm,."
_JCUKEN = "ёйцукенгшщзхъфывапролджэячсмитьбю"
_TO_CYRILLIC = str.maketrans(_QWERTY, _JCUKEN)
_TO_LATIN_KEYS = str.maketrans(_JCUKEN, _QWERTY)

# Cyrillic to Latin as Russians write it in Latin letters (close to BGN/PCGN).
_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
    "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch",
    "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
_TO_LATIN = str.maketrans(_TRANSLIT)
# Latin to Cyrillic as Russians type Russian words in Latin letters: digraphs first,
# then "y" by its neighbours (ya/yu/ye/yo; й after a vowel; ы after a consonant).
_FROM_LATIN = [
    (r"shch|sch", "щ"), (r"zh", "ж"), (r"kh", "х"), (r"ts", "ц"), (r"ch", "ч"), (r"sh", "ш"),
    (r"\byo|\bjo", "йо"), (r"ya", "я"), (r"yu|iu", "ю"), (r"yo|jo", "е"), (r"ye|je", "е"),
    (r"yy\b", "ый"), (r"iy\b|ij\b|(?<=[kgh])y\b", "ий"), (r"(?<=[aeiou])[yj]", "й"), (r"y", "ы"),
    (r"aia\b", "ая"), (r"iia\b|ia\b", "ия"), (r"(?<=[aeou])i(?=[^aeiouy])", "й"),
    (r"a", "а"), (r"b", "б"), (r"v|w", "в"), (r"g", "г"), (r"d", "д"), (r"e", "е"), (r"z", "з"),
    (r"i", "и"), (r"j", "й"), (r"c(?=[ieyj])", "ц"), (r"k|q|c", "к"), (r"l", "л"), (r"m", "м"), (r"n", "н"), (r"o", "о"),
    (r"p", "п"), (r"r", "р"), (r"s", "с"), (r"t", "т"), (r"u", "у"), (r"f", "ф"), (r"h", "х"),
    (r"x", "кс"),
]  # fmt: skip
_PLURAL_ENDING = re.compile(r"[^aeiouy]ye$")
_FINAL_I = re.compile(r"[aeou]i$")
_FROM_LATIN_RE = re.compile(
    "|".join(f"(?P<g{n}>{pattern})" for n, (pattern, _) in enumerate(_FROM_LATIN))
)


def _cyrillic_for(match: re.Match[str]) -> str:
    return _FROM_LATIN[int(str(match.lastgroup)[1:])][1]


SENTINEL = "0chatshop0sep0"


_ACCENTED = re.compile("[\u00c0-\u024f]")


def _strip_accent(match: re.Match[str]) -> str:
    decomposed = unicodedata.normalize("NFKD", match.group(0))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def raw_tokens(text: str) -> list[str]:
    """Split `text` into lower-case runs of letters and digits, with ё as е."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    processed: str = default_process(text)
    return processed.replace("ё", "е").split()


@lru_cache(maxsize=65_536)
def fold_token(raw: str) -> tuple[str, ...]:
    """Finish folding a raw token: accents off ("qualità"), a unit off its number ("256gb")."""
    if _ACCENTED.search(raw):
        raw = _ACCENTED.sub(_strip_accent, raw)
    unit = _NUMBER_UNIT.match(raw)
    if unit:
        return unit.group(1), unit.group(2)
    number = _NUMBER_LETTERS.match(raw)
    if number:
        meant = _mistyped_unit(number.group(2))
        if meant:
            return number.group(1), meant
    return (raw,)


def _mistyped_unit(letters: str) -> str | None:
    """Return the unit `letters` mistype ("bg" → "gb", "mahh" → "mah"), if just one fits."""
    swapped = _UNIT_LETTERS.get("".join(sorted(letters)))
    if swapped:
        return swapped
    if len(letters) < 3:
        return None
    close = [unit for unit in _LONG_UNITS if OSA.distance(letters, unit, score_cutoff=1) <= 1]
    return close[0] if len(close) == 1 else None


def may_fold(raw: str) -> bool:
    """Tell cheaply whether `fold_token` could change a raw token."""
    if raw[0].isdigit() and not raw.isdigit():
        return True  # a unit glued to a number, in any script ("256gb", "256гб")
    return not raw.isascii() and _ACCENTED.search(raw) is not None


def words(text: str) -> list[str]:
    """Return the folded words of `text`, as the search index sees them."""
    return [
        word for raw in raw_tokens(text) for word in (fold_token(raw) if may_fold(raw) else (raw,))
    ]


def raw_tokens_of_many(texts: list[str]) -> list[str]:
    """Split many texts at once: their raw tokens, each text followed by `SENTINEL`.

    One C pass over the joined texts instead of a Python call per text: the index
    build of a million products depends on it. (A title that contains the sentinel
    word itself would only be split in two.)
    """
    return raw_tokens(f" {SENTINEL} ".join(texts) + f" {SENTINEL}")


def squeezed_many(texts: list[str]) -> list[str]:
    """Return each text's folded words run together ("APL-IP15-128" → "aplip15128").

    One C pass over the joined texts, as in `raw_tokens_of_many`, and no list of
    words at all: a million skus become keys in a fraction of a second.
    """
    text = f" {SENTINEL} ".join(texts)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    processed: str = default_process(text)
    squeezed = processed.replace("ё", "е").replace(" ", "").split(SENTINEL)
    if processed.isascii():
        return squeezed
    return [key if key.isascii() else "".join(words(key)) for key in squeezed]


def is_cyrillic(word: str) -> bool:
    """Tell whether a folded word is written in Cyrillic."""
    return any("а" <= char <= "я" for char in word)


def retype_raw(text: str) -> str:
    """Return raw text as if typed on the other layout, punctuation keys included.

    On ЙЦУКЕН, б ю ж э х ъ ё sit where QWERTY has , . ; ' [ ] ` — so "x`hysq" is
    "чёрный" and must be retyped before punctuation is thrown away.
    """
    lowered = text.lower()
    if is_cyrillic(lowered):
        return lowered.translate(_TO_LATIN_KEYS)
    return lowered.translate(_TO_CYRILLIC)


def other_layout(word: str) -> str:
    """Return what `word` would be if typed with the other keyboard layout (ЙЦУКЕН ↔ QWERTY)."""
    if is_cyrillic(word):
        return word.translate(_TO_LATIN_KEYS)
    return word.translate(_TO_CYRILLIC)


def transliterate(word: str) -> str:
    """Return `word` spelled in the other alphabet (кофе ↔ kofe, smartfon ↔ смартфон)."""
    if is_cyrillic(word):
        return word.translate(_TO_LATIN)
    return _FROM_LATIN_RE.sub(_cyrillic_for, word)


def transliterations(word: str) -> list[str]:
    """Return the likely spellings of a Latin-typed Russian word (э for a leading e, too)."""
    if is_cyrillic(word) or not word.isalpha():
        return [transliterate(word)]
    spellings = [transliterate(word)]
    if "ia" in word:  # "ia" is я as often as иа: miatny → мятный, premialny → премиальный
        spellings.append(transliterate(word.replace("ia", "ya")))
    if _PLURAL_ENDING.search(word):  # a final "ye" after a consonant is ые: belye → белые
        spellings.append(transliterate(word[:-2]) + "ые")
    if _FINAL_I.search(word):  # a final "i" after a vowel is й as often as и: chai → чай
        spellings.append(transliterate(word[:-1]) + "й")
    if spellings[0].startswith("е"):
        spellings.append("э" + spellings[0][1:])  # elektro → электро
    return list(dict.fromkeys(spellings))
