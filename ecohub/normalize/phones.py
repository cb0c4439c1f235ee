"""Vietnamese phone numbers to E.164 with Google's ``phonenumbers`` metadata.

Why ``phonenumbers``: it knows Vietnam's current numbering plan (10-digit mobiles, 028 for Ho
Chi Minh City landlines), so we do not hand-maintain prefix lists. One local rule is added: the
2018 renumbering of 11-digit mobiles (``0168 xxx xxxx`` became ``038 xxx xxxx``), because old
profiles on the portals still carry them and the mapping is official and unambiguous.
"""

from __future__ import annotations

import re

import phonenumbers

from ecohub.errors import NormalizationError
from ecohub.normalize.text import clean_bounded

__all__ = ["normalize_phone"]

# Ministry of Information and Communications, 2018: old 4-digit mobile prefix -> new 3-digit one.
_MOBILE_2018 = {
    "0162": "032", "0163": "033", "0164": "034", "0165": "035", "0166": "036", "0167": "037",
    "0168": "038", "0169": "039", "0120": "070", "0121": "079", "0122": "077", "0126": "076",
    "0128": "078", "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
    "0186": "056", "0188": "058", "0199": "059",
}
_NOISE = re.compile(r"[\s().\-/]")


def _renumber_2018(text: str) -> str:
    digits = _NOISE.sub("", text)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 12:
        digits = "0" + digits[2:]
    if len(digits) == 11 and digits[:4] in _MOBILE_2018:
        return _MOBILE_2018[digits[:4]] + digits[4:]
    return text


def normalize_phone(value: object, region: str = "VN") -> str:
    """One phone number as served -> E.164 (``+84912345678``); raises with the reason if invalid.

    Idempotent: an E.164 result normalizes to itself.
    """
    text = clean_bounded(value, "phone")
    if not text:
        raise NormalizationError("phone number is empty", field="phone", value=text)
    candidate = _renumber_2018(text)
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException as exc:
        raise NormalizationError(
            f"not a phone number: {exc}", field="phone", value=text
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise NormalizationError(
            "not a valid number in the numbering plan of its country", field="phone", value=text
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
