"""Names: honorifics, roles in parentheses, legal forms with and without dots, homoglyphs
(issue #14, point 5)."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from ecohub.normalize import normalize
from ecohub.normalize.names import split_person_name
from ecohub.normalize.orgnames import parse_org_name
from ecohub.normalize.text import fold_homoglyphs


@pytest.mark.parametrize(("served", "name", "titles"), [
    ("Ông Nguyễn Văn An", "Nguyễn Văn An", []),
    ("Bà Lê Thị Hồng", "Lê Thị Hồng", []),
    ("Ông Nguyễn An", "Nguyễn An", []),              # a family name follows: an honorific
    ("Ông Ích Khiêm", "Ông Ích Khiêm", []),          # Ông is also a family name
    ("Anh Tuấn Nguyễn", "Anh Tuấn Nguyễn", []),      # Anh is also a given name
    ("Mr. Trần Minh Quang", "Trần Minh Quang", []),
    ("PGS.TS. Nguyễn Văn An (Trưởng khoa)", "Nguyễn Văn An", ["PGS", "TS"]),
    ("Bà Trần Thị Mai (Giám đốc)", "Trần Thị Mai", []),
    ("Nguyễn Văn An (ThS)", "Nguyễn Văn An", ["ThS"]),
    ("Nguy\u0435\u0302\u0303n V\u0430\u0306n An", "Nguyễn Văn An", []),  # Cyrillic е, а
])
def test_person_names(served: str, name: str, titles: list[str]) -> None:
    parsed = split_person_name(served)
    assert (parsed.full_name, parsed.titles, parsed.as_served, parsed.mixed_script) == (
        name, titles, unicodedata.normalize("NFC", served), False)
    again = split_person_name(parsed.full_name)
    assert (again.full_name, again.titles) == (name, [])


@pytest.mark.parametrize(("served", "name", "legal_form", "key"), [
    ("Cty. TNHH Minh Phát", "Công ty TNHH Minh Phát", "Công ty TNHH", "minh phat"),
    ("Cty TNHH Minh Phát", "Công ty TNHH Minh Phát", "Công ty TNHH", "minh phat"),
    ("Cty TNHH. Minh Phát", "Công ty TNHH Minh Phát", "Công ty TNHH", "minh phat"),
    ("C.ty CP Sao Mai", "Công ty cổ phần Sao Mai", "Công ty cổ phần", "sao mai"),
    ("Cty.CP Sao Mai", "Công ty cổ phần Sao Mai", "Công ty cổ phần", "sao mai"),
    ("Ctcp. Sao Mai", "Công ty cổ phần Sao Mai", "Công ty cổ phần", "sao mai"),
    ("Cty. Minh Phát", "Công ty Minh Phát", "Công ty", "minh phat"),
    ("CONG TY TNHH MOT THANH VIEN Hoa Binh", "Công ty TNHH MTV Hoa Binh", "Công ty TNHH MTV",
     "hoa binh"),
    ("C\u043eng ty TNHH Minh Phát", "Công ty TNHH Minh Phát", "Công ty TNHH", "minh phat"),
    ("Công tyabc", "Công tyabc", None, "cong tyabc"),
])
def test_organization_legal_forms(served: str, name: str, legal_form: str | None,
                                  key: str) -> None:
    parsed = parse_org_name(served)
    assert (parsed.name, parsed.legal_form, parsed.match_key, parsed.as_served) == (
        name, legal_form, key, served)


@pytest.mark.parametrize(("text", "folded", "ambiguous"), [
    ("Nguyễn Văn An", "Nguyễn Văn An", False),
    ("Nguyễn V\u0430n An", "Nguyễn Van An", False),
    ("Nguyễn V\u0434n An", "Nguyễn V\u0434n An", True),   # Cyrillic д: no Latin look-alike
    ("Иван Петров", "Иван Петров", False),                # one script: a Russian name
    ("\u0392ùi Thị Lan", "Bùi Thị Lan", False),           # Greek capital beta
])
def test_homoglyphs_folded_when_unambiguous(text: str, folded: str, ambiguous: bool) -> None:
    assert fold_homoglyphs(text) == (folded, ambiguous)


def test_expert_name_with_an_unfoldable_foreign_letter_is_flagged(sample: Any,
                                                                   pii_key: bytes) -> None:
    record = sample("stinet_expert", full_name="PGS.TS. Nguyễn V\u0434n An")
    (person,) = normalize(record, pii_key=pii_key)
    assert person.data["name"]["full_name"] == "Nguyễn V\u0434n An"
    assert [(i["field"], i["kind"]) for i in person.data["issues"]] == [("full_name", "homoglyph")]
