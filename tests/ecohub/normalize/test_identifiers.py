"""ISBN and ISSN: compact canonical form, check digits verified with python-stdnum."""

from __future__ import annotations

from typing import Any

import pytest

from ecohub.normalize import normalize
from ecohub.normalize.identifiers import normalize_isbn, normalize_issn


@pytest.mark.parametrize(("served", "value", "reason"), [
    ("978-604-73-1234-4", "9786047312344", None),
    ("978 604 73 1234 4", "9786047312344", None),
    ("9786047312344", "9786047312344", None),
    ("0-306-40615-2", "0306406152", None),           # ISBN-10 stays ISBN-10
    ("0-8044-2957-X", "080442957X", None),
    ("978-604-73-1234-5", None, "isbn: check digit does not match"),
    ("978-604-73-1234", None, "isbn: must have 10 or 13 digits"),
    ("97860473123A4", None, "isbn: must contain only digits (and a final X)"),
    (12345, None, "isbn: empty or not text"),
])
def test_isbn(served: Any, value: str | None, reason: str | None) -> None:
    found = normalize_isbn(served)
    assert (found.value, found.reason, found.valid) == (value, reason, value is not None)


@pytest.mark.parametrize(("served", "value", "reason"), [
    ("1859-123X", "1859123X", None),
    ("0317-8471", "03178471", None),
    ("1859-1234", None, "issn: check digit does not match"),
    ("1859-12", None, "issn: must have 8 digits"),
])
def test_issn(served: str, value: str | None, reason: str | None) -> None:
    found = normalize_issn(served)
    assert (found.value, found.reason) == (value, reason)


def test_document_with_an_invalid_isbn_loads_with_isbn_null_and_the_issue(
        sample: Any, pii_key: bytes) -> None:
    record = sample("stinet_doc")
    record.data["metadata"]["dc:identifier"] = ["ISBN 978-604-73-1234-5", "ISSN 1859-123X"]
    (doc,) = normalize(record, pii_key=pii_key)
    assert (doc.data["isbn"], doc.data["issn"]) == (None, "1859123X")
    assert doc.data["title"]
    assert doc.data["issues"] == [{"field": "dc:identifier", "kind": "isbn",
                                   "reason": "isbn: check digit does not match",
                                   "value": "978-604-73-1234-5"}]
