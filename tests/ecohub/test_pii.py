"""Personal data: tokens on shared data, clear values only in restricted, scanners."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

from ecohub.errors import NormalizationError
from ecohub.normalize.pii import (
    ContactTokens,
    PiiFinding,
    find_clear_pii,
    normalize_email,
    redact_text,
    tokenize,
)


def test_token_is_keyed_hmac_sha256_of_the_normalized_value() -> None:
    expected = hmac.new(b"k1", b"an.nv@itb.ac.vn", hashlib.sha256).hexdigest()
    assert tokenize("an.nv@itb.ac.vn", b"k1") == f"hmac:sha256:{expected}"
    assert tokenize("an.nv@itb.ac.vn", b"k2") != tokenize("an.nv@itb.ac.vn", b"k1")


@pytest.mark.parametrize(
    ("raw", "email"),
    [(" An.NV@ITB.ac.vn ", "an.nv@itb.ac.vn"), ("mailto:info@sihub.gov.vn", "info@sihub.gov.vn")],
)
def test_normalize_email(raw: str, email: str) -> None:
    assert normalize_email(raw) == email


@pytest.mark.parametrize("raw", ["an.nv(at)itb.ac.vn", "không có", "a@b"])
def test_normalize_email_refuses_non_emails(raw: str) -> None:
    with pytest.raises(NormalizationError, match="not an email"):
        normalize_email(raw)


def test_same_contact_spelled_differently_gets_one_token() -> None:
    tokens = ContactTokens(b"k")
    assert tokens.phone("0903 123 456", "a") == tokens.phone("+84903123456", "b")
    assert tokens.email("An@X.vn", "c") == tokens.email("an@x.vn", "d")


def test_invalid_contact_is_tokenized_and_reported_without_its_value() -> None:
    tokens = ContactTokens(b"k")
    token = tokens.phone("0903 12", "phone_token")
    assert token == tokenize("0903 12", b"k")
    assert tokens.issues == [{"field": "phone_token", "kind": "phone", "value": None,
                              "reason": "not a valid number in the numbering plan of its country"}]
    assert tokens.restricted["phone_token"]["value"] == "0903 12"


def test_redact_text_replaces_contacts_inside_free_text() -> None:
    text = "Liên hệ ThS. Mai: mai.dt@gmail.com, ĐT 0987 654 321. Giá 2.000.000.000 đ, 5 năm"
    redacted = redact_text(text, b"k")
    assert redacted == (f"Liên hệ ThS. Mai: {tokenize('mai.dt@gmail.com', b'k')}, ĐT "
                        f"{tokenize('+84987654321', b'k')}. Giá 2.000.000.000 đ, 5 năm")


@pytest.mark.parametrize(
    ("value", "findings"),
    [
        ({"a": {"b": ["x", "gọi 0912345678"]}}, [("$.a.b[1]", "phone")]),
        ({"email_token": "an@itb.ac.vn"}, [("$.email_token", "email")]),
        ({"email_token": tokenize("an@itb.ac.vn", b"k"), "budget": "2.000.000.000 đ"}, []),
        ({"tax_code": {"text": "0381234567"}}, []),
        ({"issues": [{"field": "ma_so_thue", "reason": "tax code: check digit",
                     "value": "0381234567"}]}, []),
        ({"issues": [{"field": "mo_ta", "reason": "x", "value": "0381234567"}]},
         [("$.issues[0].value", "phone")]),
    ],
)
def test_find_clear_pii(value: Any, findings: list[tuple[str, str]]) -> None:
    assert [(f.path, f.kind) for f in find_clear_pii(value)] == findings


@pytest.mark.parametrize("code", ["0799/2025/HĐ-SKHCN", "Nhiệm vụ: 0799/2025/HĐ-SKHCN",
                                  "0903/2024/HĐ-QPTKHCN", "0912/2023/QĐ-UBND"])
def test_official_reference_numbers_are_not_phone_numbers(code: str) -> None:
    assert find_clear_pii({"research_project_code": code, "results": f"Theo hợp đồng {code}"}) == []
    assert redact_text(code, b"k") == code


def test_a_phone_next_to_a_reference_number_is_still_found() -> None:
    text = "Hợp đồng 0799/2025/HĐ-SKHCN, liên hệ 0912 345 678"
    assert find_clear_pii({"results": text}) == [PiiFinding("$.results", "phone")]
    assert redact_text(text, b"k") == (
        f"Hợp đồng 0799/2025/HĐ-SKHCN, liên hệ {tokenize('+84912345678', b'k')}")
