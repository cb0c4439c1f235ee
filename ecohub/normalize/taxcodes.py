"""Vietnamese tax codes (mã số thuế) checked with python-stdnum's ``stdnum.vn.mst``.

Why a result and not an exception: a mistyped tax code does not make an organization record
useless; it makes its tax code unusable for matching. So :func:`normalize_tax_code` always
returns a :class:`TaxCode` whose ``valid`` flag and ``reason`` say what is wrong (length, check
digit, characters), and keeps the served text. ``value`` is the compact form (10 digits, or 13
for a branch: parent's 10 + ``branch``), so two spellings of one code compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass

from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.vn import mst

from ecohub.normalize.text import clean_bounded

__all__ = ["TaxCode", "normalize_tax_code"]


@dataclass(frozen=True)
class TaxCode:
    """``value`` is set only when ``valid``; ``reason`` only when not."""

    text: str
    valid: bool
    value: str | None = None
    parent: str | None = None
    branch: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "valid": self.valid,
            "value": self.value,
            "parent": self.parent,
            "branch": self.branch,
            "reason": self.reason,
        }


def _reason(exc: StdnumValidationError, compact: str) -> str:
    if isinstance(exc, InvalidLength):
        return f"must have 10 digits (13 for a branch), has {len(compact)} characters"
    if isinstance(exc, InvalidChecksum):
        return "check digit (10th digit) does not match the first nine digits"
    if isinstance(exc, InvalidFormat):
        return "must contain only digits (and an optional '-' before the branch suffix)"
    if isinstance(exc, InvalidComponent):
        return "branch suffix must be 001-999"
    return f"invalid tax code: {exc}"


def normalize_tax_code(value: object) -> TaxCode:
    """Validate a tax code; never raises for bad input (see module doc)."""
    text = clean_bounded(value, "tax code")
    if not text:
        return TaxCode(text=text, valid=False, reason="empty")
    compact = mst.compact(text)
    try:
        number = mst.validate(text)
    except StdnumValidationError as exc:
        return TaxCode(text=text, valid=False, reason=_reason(exc, compact))
    branch = number[10:] or None
    return TaxCode(text=text, valid=True, value=number, parent=number[:10], branch=branch)
