"""clean_text's fast path and its one-call control stripping give the reference's answers.

The reference below is clean_text as it was before the fast path (a Python loop over every
character): the fast version must return exactly the same string for any input.
"""

from __future__ import annotations

import html
import re
import sys
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from ecohub.normalize.text import _CONTROL_CHARS, _DIRTY, _one_pass, clean_text

_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def reference_clean_text(value: str) -> str:
    def one_pass(text: str) -> str:
        text = html.unescape(text)
        text = _TAG.sub(" ", text)
        text = text.translate(_INVISIBLE)
        text = "".join(
            ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cs")
        )
        text = unicodedata.normalize("NFC", text)
        return re.sub(r"\s+", " ", text).strip()

    text = value
    for _ in range(8):
        cleaned = one_pass(text)
        if cleaned == text:
            return cleaned
        text = cleaned
    return text


# Characters each branch of the cleaning reacts to, mixed with ordinary Vietnamese text.
_TRICKY = st.sampled_from([
    "&amp;", "&lt;b&gt;", "&amp;lt;i&amp;gt;", "&#x20;", "&nbsp;", "<b>", "</p>", "<br/>", "<",
    "&", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u2003", "\x1c", "\x85", "\u200b", "\ufeff",
    "\u00ad", "\x00", "\x07", "\x7f", "\x9f", "\ud800", "o\u0302\u0301", "e\u0301", "\u1ed1",
    "Hòa", "Hoà", "Đà Nẵng", "x",
    # an "&" that is no entity start is clean; next to anything else it may be one
    "KH&CN", " & ", "&;", "&&", "&<", "&\f", "&#", "&#x", "&amp", "&copy", "&\r", "&é",
])
_TEXT = st.lists(_TRICKY | st.text(max_size=6), max_size=12).map("".join)


@settings(max_examples=500, deadline=None)
@given(_TEXT)
def test_clean_text_equals_the_reference(value: str) -> None:
    assert clean_text(value) == reference_clean_text(value)
    assert clean_text(value) == reference_clean_text(value)  # remembered: the same answer


@settings(max_examples=1000, deadline=None)
@given(_TEXT)
def test_text_the_fast_path_calls_clean_is_left_unchanged_by_a_pass(value: str) -> None:
    """The fast path skips a pass only where the pass would change nothing."""
    if not _DIRTY.search(value) and unicodedata.is_normalized("NFC", value):
        assert _one_pass(value) == value


def test_dropped_controls_are_every_non_space_control_and_surrogate() -> None:
    every = "".join(
        chr(c) for c in range(sys.maxunicode + 1)
        if not chr(c).isspace() and unicodedata.category(chr(c)) in ("Cc", "Cs")
    )
    assert _CONTROL_CHARS == every
    assert len(every) == 2048 + 65 - 10  # surrogates + Cc, less \t\n\v\f\r \x1c-\x1f \x85
