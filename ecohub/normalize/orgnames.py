"""Organization names with their Vietnamese legal form recognised, and a key for matching.

Why: the same company is "Cty TNHH Minh Phát" on Techport, "CÔNG TY TNHH MINH PHÁT" on H.OIP and
"Công ty trách nhiệm hữu hạn Minh Phát" in a Stinet report. :func:`parse_org_name` expands the
common abbreviations for display, names the legal form canonically, and gives ``match_key``
(accent-free, case-free, legal form removed) so that the warehouse can link the three; it
never decides that two organizations are the same - that is entity resolution's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ecohub.errors import NormalizationError
from ecohub.normalize.text import clean_bounded, fold, fold_homoglyphs

__all__ = ["OrgName", "parse_org_name"]

# "Công ty", "Cty", "Cty.", "C.ty", "C/ty" - with or without the dot, glued or not to what follows
_CTY = r"(?:c[oô]ng\s+ty|c\.?\s?ty|c/ty)\.?"  # "Cong ty": typed without accents
_END = r"(?:\.|\b)"  # an abbreviation ends with its dot or at a word boundary
_TNHH = r"(?:tnhh|tr[aá]ch nhi[eệ]m h[uữ]u h[aạ]n)"
_MTV = r"(?:mtv|m[oộ]t th[aà]nh vi[eê]n)"
# (pattern at the start of the name, canonical legal form shown in ``name``)
_LEGAL_FORMS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"^{_CTY}\s*{_TNHH}{_END}\s*{_MTV}{_END}",
                re.I), "Công ty TNHH MTV"),
    (re.compile(rf"^{_CTY}\s*{_TNHH}{_END}", re.I), "Công ty TNHH"),
    (re.compile(rf"^(?:{_CTY}\s*(?:cp|c[oổ] ph[aầ]n)|ctcp){_END}", re.I), "Công ty cổ phần"),
    (re.compile(rf"^(?:doanh nghiệp tư nhân|dntn){_END}", re.I), "Doanh nghiệp tư nhân"),
    (re.compile(rf"^(?:hợp tác xã|htx){_END}", re.I), "Hợp tác xã"),
    (re.compile(r"^(trường\s+(đại học|đh)|đại học|đh)\b\.?", re.I), "Trường Đại học"),
    (re.compile(r"^(trường\s+cao đẳng|cđ)\b\.?", re.I), "Trường Cao đẳng"),
    (re.compile(r"^(viện)\b", re.I), "Viện"),
    (re.compile(r"^(trung tâm|tt)\b\.?", re.I), "Trung tâm"),
    (re.compile(rf"^{_CTY}(?=\s|$)", re.I), "Công ty"),
]
_ENGLISH_FORMS = re.compile(
    r"\b(co\.?,?\s*ltd\.?|company limited|joint stock company|jsc|corporation|corp\.?|inc\.?|llc)$",
    re.I,
)
_EXPANSIONS = [
    (re.compile(r"\bĐHQG[-\s]?HCM\b"), "Đại học Quốc gia TP.HCM"),
    (re.compile(r"\bĐHQG[-\s]?HN\b"), "Đại học Quốc gia Hà Nội"),
    (re.compile(r"\bKH&CN\b"), "Khoa học và Công nghệ"),
]


@dataclass(frozen=True)
class OrgName:
    name: str
    legal_form: str | None
    match_key: str
    as_served: str
    mixed_script: bool = False  # Cyrillic/Greek letters without a Latin look-alike remain


def parse_org_name(value: object) -> OrgName:
    """Recognise the legal form; raises :class:`NormalizationError` when the name is empty."""
    served = clean_bounded(value, "organization name")
    if not served:
        raise NormalizationError("organization name is empty", field="name", value=served)
    text, mixed = fold_homoglyphs(served)
    name, legal_form, core = text, None, text
    for pattern, canonical in _LEGAL_FORMS:
        match = pattern.match(text)
        if match:
            legal_form = canonical
            core = text[match.end() :].strip(" .-")
            name = f"{canonical} {core}".strip() if core else canonical
            break
    else:
        english = _ENGLISH_FORMS.search(text)
        if english:
            legal_form = "Company (English name)"
            core = text[: english.start()].strip(" ,.-")
    for pattern, replacement in _EXPANSIONS:
        core = pattern.sub(replacement, core)
    return OrgName(name=name, legal_form=legal_form, match_key=fold(core) or fold(text),
                   as_served=served, mixed_script=mixed)
