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
import re
import unicodedata

__all__ = ["clean_optional", "clean_text", "fold"]

_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACE = re.compile(r"\s+")
_MAX_PASSES = 8


def _strip_controls(text: str) -> str:
    """Drop C0/C1 control characters except whitespace, and invisible format characters."""
    text = text.translate(_INVISIBLE)
    return "".join(
        ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cs")
    )


def _one_pass(text: str) -> str:
    text = html.unescape(text)
    text = _TAG.sub(" ", text)
    text = _strip_controls(text)
    text = unicodedata.normalize("NFC", text)
    return _SPACE.sub(" ", text).strip()


def clean_text(value: str) -> str:
    """NFC, HTML entities decoded (to a fixed point), tags removed, whitespace collapsed.

    Repeats the pass until nothing changes, because decoding ``&amp;lt;b&amp;gt;`` reveals a
    tag only on the second pass; the result is therefore stable under a second call.
    """
    text = value
    for _ in range(_MAX_PASSES):
        cleaned = _one_pass(text)
        if cleaned == text:
            return cleaned
        text = cleaned
    return text


def clean_optional(value: object) -> str | None:
    """Clean a value that may be missing: ``None``, blank and whitespace-only become ``None``."""
    if value is None:
        return None
    text = clean_text(str(value))
    return text or None


def fold(value: str) -> str:
    """Accent-free, lower-case, punctuation-free key for look-up tables (not for display)."""
    text = unicodedata.normalize("NFD", clean_text(value))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("đ", "d").replace("Đ", "D").casefold()
    text = re.sub(r"[^0-9a-z]+", " ", text)
    return text.strip()
