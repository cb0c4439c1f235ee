"""Book and serial identifiers (ISBN, ISSN) checked with python-stdnum, like the tax codes.

Why: Stinet writes ``ISBN 978-604-12-3456-7`` or ``ISSN 1859-1234`` inside ``dc:identifier``;
other catalogues write the same numbers without hyphens. The canonical form published on the
events is the **compact** one - digits only (and a final ``X`` check character), no hyphens or
spaces: ``9786041234567`` (ISBN-13, or 10 characters for an ISBN-10, never converted) and
``18591234`` (ISSN) - so that two spellings of one number compare equal and the quality gate's
``document.isbn.format`` / ``document.issn.format`` rules describe exactly what the normalizer
writes. A number whose length, characters or check digit are wrong is not a usable identifier:
the field becomes ``null`` and the record keeps the served text and the reason in its
``issues`` (the document is still a document).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from stdnum import isbn, issn
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength
from stdnum.exceptions import ValidationError as StdnumValidationError

from ecohub.normalize.text import clean_text

__all__ = ["Identifier", "normalize_isbn", "normalize_issn"]


@dataclass(frozen=True)
class Identifier:
    """``value`` (compact) is set only when ``valid``; ``reason`` only when not."""

    kind: str
    text: str
    valid: bool
    value: str | None = None
    reason: str | None = None


def _reason(kind: str, exc: StdnumValidationError, lengths: str) -> str:
    if isinstance(exc, InvalidLength):
        return f"{kind}: must have {lengths} digits"
    if isinstance(exc, InvalidChecksum):
        return f"{kind}: check digit does not match"
    if isinstance(exc, InvalidFormat):
        return f"{kind}: must contain only digits (and a final X)"
    if isinstance(exc, InvalidComponent):
        return f"{kind}: prefix is not 978 or 979"
    return f"{kind}: invalid ({exc})"


def _check(kind: str, value: object, validate: Callable[[str], str], lengths: str) -> Identifier:
    text = clean_text(value) if isinstance(value, str) else ""
    if not text:
        return Identifier(kind, text, False, reason=f"{kind}: empty or not text")
    try:
        return Identifier(kind, text, True, value=validate(text))
    except StdnumValidationError as exc:
        return Identifier(kind, text, False, reason=_reason(kind, exc, lengths))


def normalize_isbn(value: object) -> Identifier:
    """Validate an ISBN-10 or ISBN-13 (never raises for bad input); compact when valid."""
    return _check("isbn", value, isbn.validate, "10 or 13")


def normalize_issn(value: object) -> Identifier:
    """Validate an ISSN (never raises for bad input); compact (8 characters) when valid."""
    return _check("issn", value, issn.validate, "8")
