"""Vietnamese postal addresses split into administrative units, before and after the 2025 reform.

Why: on 1 July 2025 Vietnam abolished district-level units (quận, huyện, thị xã, TP. Thủ Đức),
merged wards, and merged Bình Dương and Bà Rịa - Vũng Tàu into Ho Chi Minh City. The portals
hold both forms: the same building is ``"123 Trương Định, Phường 6, Quận 3, TP.HCM"`` in 2024
and ``"123 Trương Định, phường Xuân Hòa, TP. Hồ Chí Minh"`` in 2026. Nothing is rewritten:
:class:`Address` keeps the text and the units as served (``ward``, ``district``, ``province``),
says which scheme they follow, and adds the post-2025 province and - where the crosswalk
below knows it without ambiguity - the post-2025 ward, so both generations can be matched.

The ward crosswalk is deliberately partial: it lists only old wards that went *whole* into one
new ward (Resolution 1685/NQ-UBTVQH15, 2025). A ward split between several new wards gets no
``ward_2025``; guessing would corrupt joins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ecohub.errors import NormalizationError
from ecohub.normalize.text import clean_bounded, fold

__all__ = ["Address", "parse_address"]

Scheme = Literal["pre_2025", "post_2025", "unknown"]
HCMC = "Thành phố Hồ Chí Minh"

_HCMC_SPELLINGS = {
    "tp hcm", "tphcm", "tp ho chi minh", "thanh pho ho chi minh", "ho chi minh", "hcm",
    "tp hcmc", "hcmc", "ho chi minh city", "sai gon", "tp sai gon",
}
# Provinces merged into Ho Chi Minh City on 1 July 2025 (Resolution 202/2025/QH15).
_MERGED_INTO_HCMC = {"binh duong", "ba ria vung tau", "ba ria   vung tau"}
_PROVINCE_NAMES = {"binh duong": "Bình Dương", "ba ria vung tau": "Bà Rịa - Vũng Tàu"}

_WARD = re.compile(r"^(phường\s|xã\s|thị trấn\s|đặc khu\s|p\.|x\.|tt\.|p(?=\s*\d))\s*(.+)$", re.I)
_DISTRICT = re.compile(r"^(quận\s|huyện\s|thị xã\s|q\.|h\.|tx\.|q(?=\s*\d))\s*(.+)$", re.I)
_CITY = re.compile(r"^(thành phố\s|tp\.|tp\s)\s*(.+)$", re.I)
_PROVINCE = re.compile(r"^(tỉnh)\s+(.+)$", re.I)
_PREFIX_CANON = {
    "phường": "Phường", "p.": "Phường", "p": "Phường", "xã": "Xã", "x.": "Xã",
    "thị trấn": "Thị trấn", "tt": "Thị trấn", "tt.": "Thị trấn", "đặc khu": "Đặc khu",
    "quận": "Quận", "q.": "Quận", "q": "Quận", "huyện": "Huyện", "h.": "Huyện",
    "thị xã": "Thị xã", "tx": "Thị xã", "tx.": "Thị xã", "thành phố": "Thành phố",
    "tp.": "Thành phố", "tp": "Thành phố",
}

# (folded district, folded ward) -> new ward, only for old wards merged whole into one new ward.
_WARD_CROSSWALK: dict[tuple[str, str], str] = {
    ("quan 3", "phuong vo thi sau"): "Phường Xuân Hòa",
    ("quan 3", "phuong 6"): "Phường Xuân Hòa",
    ("quan 3", "phuong 7"): "Phường Xuân Hòa",
    ("quan 3", "phuong 8"): "Phường Xuân Hòa",
    ("quan 3", "phuong 9"): "Phường Nhiêu Lộc",
    ("quan 3", "phuong 11"): "Phường Nhiêu Lộc",
    ("quan 3", "phuong 12"): "Phường Nhiêu Lộc",
    ("quan 3", "phuong 14"): "Phường Nhiêu Lộc",
    ("quan 3", "phuong 1"): "Phường Bàn Cờ",
    ("quan 3", "phuong 2"): "Phường Bàn Cờ",
    ("quan 3", "phuong 3"): "Phường Bàn Cờ",
    ("quan 3", "phuong 5"): "Phường Bàn Cờ",
    ("quan 1", "phuong ben nghe"): "Phường Sài Gòn",
    ("quan 1", "phuong ben thanh"): "Phường Bến Thành",
    ("quan 1", "phuong pham ngu lao"): "Phường Bến Thành",
}


@dataclass(frozen=True)
class Address:
    text: str
    street: str | None
    ward: str | None
    district: str | None
    province: str | None
    scheme: Scheme
    province_2025: str | None
    ward_2025: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "street": self.street,
            "ward": self.ward,
            "district": self.district,
            "province": self.province,
            "scheme": self.scheme,
            "province_2025": self.province_2025,
            "ward_2025": self.ward_2025,
        }


def _unit(match: re.Match[str]) -> str:
    raw = match.group(1).strip().lower()
    prefix = _PREFIX_CANON.get(raw, match.group(1).strip())
    name = match.group(2).strip(" .")
    if name.isdigit():
        name = str(int(name))
    return f"{prefix} {name}"


def _province(part: str) -> str | None:
    key = fold(part)
    if key in _HCMC_SPELLINGS:
        return HCMC
    match = _PROVINCE.match(part)
    if match:
        return "Tỉnh " + match.group(2).strip()
    if key in _PROVINCE_NAMES:
        return _PROVINCE_NAMES[key]
    city = _CITY.match(part)
    if city and fold(city.group(2)) in _HCMC_SPELLINGS | {"ho chi minh"}:
        return HCMC
    return None


def _province_2025(province: str | None) -> str | None:
    if province is None:
        return None
    key = fold(province.removeprefix("Tỉnh "))
    return HCMC if province == HCMC or key in _MERGED_INTO_HCMC else province


def _split_units(parts: list[str]) -> tuple[list[str], str | None, str | None, str | None]:
    """Read units from the right: province, district-level, ward; the rest is the street."""
    province = _province(parts[-1]) if parts else None
    if province:
        parts = parts[:-1]
    district = ward = None
    while parts:
        part = parts[-1]
        district_match = _DISTRICT.match(part) or (_CITY.match(part) if district is None else None)
        ward_match = _WARD.match(part)
        if district is None and ward is None and district_match and not ward_match:
            district = _unit(district_match)
        elif ward is None and ward_match:
            ward = _unit(ward_match)
        else:
            break
        parts = parts[:-1]
    return parts, ward, district, province


def parse_address(value: object) -> Address:
    """Split an address into units; raises :class:`NormalizationError` only when it is empty."""
    text = clean_bounded(value, "address")
    if not text:
        raise NormalizationError("address is empty", field="address", value=text)
    parts = [p.strip() for p in text.split(",") if p.strip()]
    street_parts, ward, district, province = _split_units(parts)
    merged = province is not None and fold(province.removeprefix("Tỉnh ")) in _MERGED_INTO_HCMC
    if district is not None or merged:
        scheme: Scheme = "pre_2025"
    elif ward is not None and province is not None:
        scheme = "post_2025"
    else:
        scheme = "unknown"
    ward_2025 = ward if scheme == "post_2025" else None
    if scheme == "pre_2025" and district and ward:
        ward_2025 = _WARD_CROSSWALK.get((fold(district), fold(ward)))
    return Address(
        text=text,
        street=", ".join(street_parts) or None,
        ward=ward,
        district=district,
        province=province,
        scheme=scheme,
        province_2025=_province_2025(province),
        ward_2025=ward_2025,
    )
