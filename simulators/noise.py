"""The mess real Vietnamese public-sector data carries, applied on purpose.

Why: normalization and entity resolution are only tested if the simulators serve what member
institutions really type: decomposed Unicode, stray and non-breaking spaces, HTML entities,
money as text, tax codes with dashes or typos, phones in every format, addresses written
before or after the 2025 reorganization. Every helper takes the caller's ``random.Random`` so
the mess is deterministic.
"""

from __future__ import annotations

import random
import re
import unicodedata

__all__ = [
    "CITY_VARIANTS",
    "SUFFIX_VARIANTS",
    "fold",
    "make_tax_code",
    "messy",
    "money_text",
    "phone_text",
    "show_tax",
    "tax_is_valid",
]

CITY_VARIANTS = ("TP.HCM", "TP. Hồ Chí Minh", "Thành phố Hồ Chí Minh", "TPHCM", "Tp.HCM", "TP HCM")
SUFFIX_VARIANTS = {
    "TP.HCM": CITY_VARIANTS,
    "ĐHQG-HCM": ("ĐHQG-HCM", "ĐHQG TP.HCM", "Đại học Quốc gia TP.HCM", "ĐHQG TPHCM"),
    "": ("",),
}
_VI_CHARS = re.compile(r"[^\x00-\x7f]")


def fold(text: str) -> str:
    """Accent-, case- and punctuation-free form, used to keep world names distinguishable."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def messy(text: str, r: random.Random, level: float = 1.0) -> str:
    """Return ``text`` as a member might have typed it; the meaning never changes.

    ``level`` scales every probability (0 = clean). NFD is applied to the whole string, as
    legacy systems do; entities are applied after it so they stay decodable.
    """
    if not text or level <= 0:
        return text
    if r.random() < 0.18 * level:
        text = unicodedata.normalize("NFD", text)
    if r.random() < 0.10 * level and " " in text:
        words = text.split(" ")
        k = r.randrange(1, len(words))
        text = " ".join(words[:k]) + r.choice(("  ", "\u00a0", " \t")) + " ".join(words[k:])
    if r.random() < 0.10 * level:
        text = (
            r.choice((" ", "  ", "\n")) + text
            if r.random() < 0.5
            else text + r.choice((" ", "  ", "\r\n"))
        )
    if "&" in text and r.random() < 0.5 * level:
        text = text.replace("&", "&amp;")
    elif r.random() < 0.06 * level:
        match = _VI_CHARS.search(text)
        if match and not unicodedata.combining(match.group()):
            text = text[: match.start()] + f"&#{ord(match.group())};" + text[match.end() :]
    return text


def money_text(amount: int | None, r: random.Random) -> str:
    """Money as participants write it ("1,5 tỷ", "400 triệu VNĐ", "2.000.000.000 đ")."""
    if amount is None:
        return r.choice(("Thỏa thuận", "Liên hệ", "Thương lượng"))
    dotted = f"{amount:,}".replace(",", ".")
    styles = [f"{dotted} đ", f"{dotted} VNĐ", f"{dotted} đồng", f"{dotted}"]
    if amount % 1_000_000_000 == 0:
        ty = amount // 1_000_000_000
        styles += [f"{ty} tỷ đồng", f"{ty} tỷ", f"{ty} tỷ VNĐ"]
    elif amount >= 1_000_000_000 and amount % 100_000_000 == 0:
        whole, tenths = divmod(amount // 100_000_000, 10)
        styles += [
            f"{whole},{tenths} tỷ",
            f"{whole},{tenths} tỷ đồng",
            f"{whole} tỷ {tenths}00 triệu",
        ]
    elif amount % 1_000_000 == 0:
        trieu = amount // 1_000_000
        styles += [f"{trieu} triệu VNĐ", f"{trieu} triệu", f"{trieu} triệu đồng", f"{trieu}tr"]
    return r.choice(styles)


def _check_digit(first9: str) -> str | None:
    weights = (31, 29, 23, 19, 17, 13, 7, 5, 3)
    value = 10 - sum(w * int(d) for w, d in zip(weights, first9, strict=True)) % 11
    return None if value == 10 else str(value)


def tax_is_valid(code: str) -> bool:
    """Check digit of a 10-digit code (the same rule as python-stdnum's ``vn.mst``)."""
    digits = re.sub(r"[\s.\-]", "", code)
    return digits.isdigit() and len(digits) in (10, 13) and _check_digit(digits[:9]) == digits[9]


def make_tax_code(r: random.Random, branch: bool = False) -> str:
    """A valid HCMC tax code (``03...``); ``branch`` adds a ``-00N`` suffix (13 digits)."""
    while True:
        first9 = "03" + "".join(r.choice("0123456789") for _ in range(7))
        check = _check_digit(first9)
        if check is not None and first9[2:] != "0000000":
            code = first9 + check
            return f"{code}-{r.randint(1, 9):03d}" if branch else code


def show_tax(code: str, r: random.Random, mode: str) -> str | None:
    """Render a tax code: ``ok`` as stored, ``fmt`` re-formatted, ``missing``, or ``typo``.

    A typo always breaks the check digit, so a careful reader can tell it is wrong.
    """
    if mode == "missing":
        return r.choice((None, None, "", "Đang cập nhật"))
    digits = code.replace("-", "")
    if mode == "fmt":
        base, branch = digits[:10], digits[10:]
        spaced = r.choice(
            (f"{base[:4]} {base[4:7]} {base[7:]}", f"{base[:4]}.{base[4:7]}.{base[7:]}", base)
        )
        return f"{spaced}{r.choice(('-', ' - ', ''))}{branch}" if branch else spaced
    if mode == "typo":
        while True:
            pos = r.randrange(2, 9)
            wrong = (
                digits[:pos] + str((int(digits[pos]) + r.randint(1, 9)) % 10) + digits[pos + 1 :]
            )
            if not tax_is_valid(wrong):
                return wrong[:10] + (f"-{wrong[10:]}" if len(wrong) == 13 else "")
    return code


def phone_text(number: str, r: random.Random) -> str:
    """``number`` is 10 national digits (``028...`` landline or ``09...`` mobile)."""
    if number.startswith("028"):
        rest = number[3:]
        return r.choice(
            (
                f"028 {rest[:4]} {rest[4:]}",
                f"(028) {rest}",
                f"+84 28 {rest[:4]} {rest[4:]}",
                number,
                f"028.{rest[:4]}.{rest[4:]}",
            )
        )
    return r.choice(
        (
            f"{number[:4]} {number[4:7]} {number[7:]}",
            f"{number[:3]}.{number[3:6]}.{number[6:]}",
            f"+84{number[1:]}",
            f"+84 {number[1:4]} {number[4:7]} {number[7:]}",
            number,
        )
    )
