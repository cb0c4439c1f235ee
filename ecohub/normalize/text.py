"""Text cleanup every other normalizer builds on.

Why: the portals serve Vietnamese in both composed (NFC) and decomposed (NFD) Unicode, with
HTML entities (sometimes escaped twice), stray tags, non-breaking and zero-width spaces. Two
strings that a reader sees as equal must be equal bytes in the warehouse, or joins and
de-duplication silently miss. :func:`clean_text` reaches a fixed point, so it is idempotent;
:func:`fold` gives an accent-free, case-free key for table look-ups (``"Hoà"`` and
``"HÒA"`` both fold to ``"hoa"``), never for display.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from functools import lru_cache

from ecohub.errors import NormalizationError

__all__ = [
    "FIELD_LIMITS",
    "clean_bounded",
    "clean_optional",
    "clean_text",
    "describe_json",
    "fold",
    "fold_homoglyphs",
    "is_text_like",
    "type_name",
]

_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
_INVISIBLE_CHARS = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
# Control (Cc) and surrogate (Cs) code points are fixed by Unicode's stability policy:
# U+0000-001F, U+007F-009F, U+D800-DFFF. Those that are not whitespace are dropped.
_CONTROL_CHARS = "".join(
    chr(c) for c in (*range(0x00, 0xA0), *range(0xD800, 0xE000))
    if not chr(c).isspace() and unicodedata.category(chr(c)) in ("Cc", "Cs")
)
_DROPPED = dict.fromkeys(map(ord, _INVISIBLE_CHARS + _CONTROL_CHARS), None)
_SPACE = re.compile(r"\s+")
# Anything a cleaning pass could change: an entity or tag start, a dropped character, a
# whitespace other than a single inner space. Text without it (and already NFC) is clean.
# An "&" that html.unescape leaves alone (before a space, "<", "&", ";", a tab, line or form
# feed, or at the end) is no entity start: "khoa học & thực tiễn" is clean as served.
_DIRTY = re.compile(
    r"&(?=[^\t\n\f <&;])|[<" + _INVISIBLE_CHARS
    + r"\x00-\x1f\x7f-\x9f\ud800-\udfff]|[^\S ]|  |\A | \Z"
)
_MAX_PASSES = 8


def _strip_controls(text: str) -> str:
    """Drop C0/C1 control characters except whitespace, and invisible format characters."""
    return text.translate(_DROPPED)


def _one_pass(text: str) -> str:
    text = html.unescape(text)
    text = _TAG.sub(" ", text)
    text = _strip_controls(text)
    text = unicodedata.normalize("NFC", text)
    return _SPACE.sub(" ", text).strip()


def clean_text(value: str) -> str:
    """NFC, HTML entities decoded (to a fixed point), tags removed, whitespace collapsed.

    Remembered for short values (labels, names, document types repeat across records).

    Repeats the pass until nothing changes, because decoding ``&amp;lt;b&amp;gt;`` reveals a
    tag only on the second pass; the result is therefore stable under a second call. Text
    that no pass would change (see :data:`_DIRTY`) is returned without one, the input as well
    as each pass's result: a description with line breaks takes one pass, not two.
    """
    if len(value) <= _CACHED_MAX_LEN:
        return _cached_clean(value)
    return _clean(value)


def _clean(value: str) -> str:
    text = value
    for _ in range(_MAX_PASSES):
        if not _DIRTY.search(text) and unicodedata.is_normalized("NFC", text):
            return text  # nothing a pass would change
        cleaned = _one_pass(text)
        if cleaned == text:
            return cleaned
        text = cleaned
    return text


_CACHED_MAX_LEN = 80  # labels, title words and name tokens repeat across records; prose not
_cached_clean = lru_cache(maxsize=1 << 15)(_clean)


def is_text_like(value: object) -> bool:
    """A JSON value that may stand for text: a string or a number (codes served as numbers).

    Objects, lists and booleans are not text: rendering them with ``str()`` would publish a
    Python repr (``{'a': 1}``) or ``True`` as if the portal had written it.
    """
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def describe_json(value: object, limit: int = 200) -> str:
    """The JSON text of a value (for issues and errors), cut at ``limit`` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Longest value a short field may have (characters, as served). A portal field longer than this
# is garbage or an attack; refusing it up front keeps every normalizer linear and cheap.
FIELD_LIMITS = {
    "person name": 500, "organization name": 1_000, "date": 100, "money": 200,
    "phone": 64, "email": 320, "tax code": 64, "field label": 500, "address": 2_000,
}


def clean_bounded(value: object, what: str) -> str:
    """:func:`clean_text` of a short field (``""`` for ``None``); too long is a
    :class:`~ecohub.errors.NormalizationError` naming the kind of field and its limit."""
    if value is None:
        return ""
    text = str(value)
    limit = FIELD_LIMITS[what]
    if len(text) > limit:
        raise NormalizationError(
            f"{what} longer than {limit} characters", length=len(text), limit=limit
        )
    return clean_text(text)


def clean_optional(value: object) -> str | None:
    """Clean a value that may be missing: ``None``, blank and whitespace-only become ``None``.

    Raises :class:`NormalizationError` for an object, list or boolean (see
    :func:`is_text_like`): the record is dead-lettered with that reason unless the mapper
    turned the value into a field issue first (``MapContext`` does for every mapped field).
    """
    if value is None:
        return None
    if not is_text_like(value):
        raise NormalizationError(
            f"expected text, got a JSON {type_name(value)}", field="text",
            value=describe_json(value),
        )
    text = clean_text(str(value))
    return text or None


def type_name(value: object) -> str:
    """JSON type name of a Python value decoded from JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list | tuple) else "object"


_NOT_KEY = re.compile(r"[^0-9a-z]+")


def fold(value: str) -> str:
    """Accent-free, lower-case, punctuation-free key for look-up tables (not for display).

    Remembered for short values: it is a pure function of the text, and the look-ups it
    serves (titles, document types, enum labels, each word of a person's name) ask for the
    same few thousand strings again and again (about 10 % of a Stinet document's mapping
    time went to folding them afresh, py-spy at real scale)."""
    if len(value) <= _CACHED_MAX_LEN:
        return _cached_fold(value)
    return _fold(value)


def _fold(value: str) -> str:
    text = unicodedata.normalize("NFD", clean_text(value))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("đ", "d").replace("Đ", "D").casefold()
    text = _NOT_KEY.sub(" ", text)
    return text.strip()


_cached_fold = lru_cache(maxsize=1 << 15)(_fold)


# Cyrillic and Greek letters drawn like Latin ones (Unicode confusables, letters only). A
# Vietnamese name typed on a Russian or Greek keyboard layout, or pasted from a PDF, carries
# them; they look right on screen and break every join and look-up.
_CONFUSABLES: dict[str, str] = {
    # Cyrillic
    # (looked up after NFD, so "ё" is "е" + a combining diaeresis and needs no entry)
    "а": "a", "е": "e", "к": "k", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i",
    "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "А": "A", "В": "B",
    "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y",
    "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S", "Ԁ": "D", "Һ": "H", "Ӏ": "I",
    # Greek
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o", "ι": "i", "κ": "k", "ν": "v",
    "υ": "u", "ρ": "p",
}
_CONFUSABLE_TABLE = str.maketrans(_CONFUSABLES)
_FOREIGN = re.compile(r"[\u0370-\u03ff\u0400-\u052f]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")


def fold_homoglyphs(text: str) -> tuple[str, bool]:
    """Latin look-alikes of Cyrillic/Greek letters inside a Latin-script name.

    Returns ``(text, ambiguous)``: when the text mixes Latin letters with Cyrillic or Greek
    ones, every foreign letter with a Latin look-alike is replaced (``"Nguyễn Vаn"`` with a
    Cyrillic ``а`` -> ``"Nguyễn Van"``); ``ambiguous`` is True when a foreign letter without a
    look-alike remains (the text is returned unchanged then, to be flagged, not guessed). Text
    in one script only - a Russian name - is left alone. Costs one regex search when clean.
    """
    if not _FOREIGN.search(text) or not _LATIN.search(text):
        return text, False
    decomposed = unicodedata.normalize("NFD", text)
    folded = decomposed.translate(_CONFUSABLE_TABLE)
    if _FOREIGN.search(folded):
        return text, True
    return unicodedata.normalize("NFC", folded), False
