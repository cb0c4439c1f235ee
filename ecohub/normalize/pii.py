"""Personal data policy in code: contact points become keyed tokens on shared topics.

Why: experts' and founders' emails and phone numbers are personal data under Decree
13/2023/NĐ-CP. Downstream apps need to know *that* two records share a contact (to link an
expert across portals) far more often than they need the contact itself. So shared topics carry
``hmac:sha256:<hex>`` - HMAC-SHA256 under ``settings.pii_hmac_key`` over the *normalized* value
(lower-cased email, E.164 phone) - which is stable across portals and runs, joinable, and not
reversible without the key (a plain hash of a phone number is: the space is small). The clear
values travel only in :attr:`CanonicalRecord.restricted`, to the restricted topic.

Every contact email and phone is treated as personal, including organizations' (``info@...``):
telling a personal mailbox from a role mailbox is guesswork, and a wrong guess leaks.
Free text (descriptions, abstracts) is scrubbed too: an email or phone typed inside it is
replaced by its token (:func:`redact_text`). :func:`find_clear_pii` is the scanner that the
publisher runs before sending and that the tests run over whole topics.

See docs/events/pii-policy.md.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import phonenumbers

from ecohub.errors import NormalizationError
from ecohub.normalize.phones import normalize_phone
from ecohub.normalize.text import clean_bounded, clean_text, is_text_like, type_name

__all__ = [
    "TOKEN_PATTERN",
    "TOKEN_PREFIX",
    "ContactTokens",
    "PiiFinding",
    "find_clear_pii",
    "normalize_email",
    "redact_text",
    "tokenize",
]

TOKEN_PREFIX = "hmac:sha256:"  # noqa: S105 - a format prefix, not a secret
TOKEN_PATTERN = re.compile(r"^hmac:sha256:[0-9a-f]{64}$")
# Linear time on portal text: a match may only start where a run of local-part characters
# starts (the look-behind), so a long run without "@" is scanned once, not once per position.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]++@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"
)
_EMAIL_FULL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+$")
# Vietnamese official reference numbers - contracts, decisions, task codes - are written
# "number/year/symbol" (Decree 30/2020/NĐ-CP): ``0799/2025/HĐ-SKHCN``. Their digits can spell a
# valid mobile number (079 9202 5...), but they are data, never contact points.
_DOC_NUMBER = re.compile(r"(?<![\w/])\d{1,6}/(?:19|20)\d{2}/[^\W\d_][\w.-]*")
# Keys whose values are identifiers that can look like phone numbers (tax codes) or are tokens.
_NOT_CONTACT_KEYS = frozenset({"tax_code", "company_tax_code", "id", "source_id", "code"})
# Issues about identifiers keep the served number, which is no contact point either.
_IDENTIFIER_ISSUES = frozenset({"tax_code", "isbn", "issn"})


def tokenize(normalized_value: str, key: bytes) -> str:
    """``hmac:sha256:<hex>`` of an already normalized value (see :func:`normalize_email`)."""
    if not key:
        raise ValueError("the PII HMAC key is empty")
    digest = hmac.new(key, normalized_value.encode("utf-8"), hashlib.sha256).hexdigest()
    return TOKEN_PREFIX + digest


def normalize_email(value: object) -> str:
    """Trimmed, lower-cased email; raises :class:`NormalizationError` when it is not one.

    Lower-casing the local part is a deliberate simplification: every Vietnamese mail host in
    the data treats it case-insensitively, and matching across portals needs it.
    """
    text = clean_bounded(value, "email")
    text = text.removeprefix("mailto:").strip().lower()
    if not _EMAIL_FULL.match(text):
        raise NormalizationError("not an email address", field="email")
    return text


def _code_spans(text: str) -> list[tuple[int, int]]:
    """Where official reference numbers are written (see :data:`_DOC_NUMBER`)."""
    return [m.span() for m in _DOC_NUMBER.finditer(text)] if "/" in text else []


def _phone_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """Valid phone numbers written with a leading 0 or +84 inside free text (not inside an
    official reference number such as ``0799/2025/HĐ-SKHCN``)."""
    codes = _code_spans(text)
    for match in phonenumbers.PhoneNumberMatcher(text, "VN", leniency=phonenumbers.Leniency.VALID):
        raw = match.raw_string.strip()
        if any(start < match.end and match.start < end for start, end in codes):
            continue
        if raw.startswith(("0", "+", "(0", "(+")):
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            yield match.start, match.end, e164


_CACHED_MAX_LEN = 80  # dates, codes, names repeat across records; long free text does not
# An ISO 8601 date or UTC/offset timestamp (a year 1000-9999, at most milliseconds) holds no
# phone number: the matcher's candidates stop at "T", ":" and "Z", so the longest is the
# date's digits, which start with the year's first digit - never the "0" or "+" a contact
# number must start with (see _phone_spans) - and the others have at most 5 digits (the
# shortest valid number has 6). Every event carries one or two such values, nearly all new,
# so they missed the cache: about 1 s of matcher per 20k Stinet documents (py-spy, real
# scale). tests/ecohub/test_pii_cache.py holds the matcher to this over random timestamps.
# A space instead of the "T" (Stinet's JSON API writes "2016-01-11 03:58:21") joins the
# date and the hour in one candidate, which starts with the year's first digit; the only
# part of it the matcher tries on its own (an inner match after the space) is the hour's
# two digits.
_TIMESTAMP = re.compile(
    r"[1-9]\d{3}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})?)?"
)
# A day-first date, with a time to the minute or second (Techport's "26/08/2020 00:37"):
# the matcher's candidate is the date and the hour ("26/08/2020 00"), which it drops whole
# as a slash-separated date (day 0-39 and month 0-19 before the year, its pattern), before
# trying any part of it; the minutes and seconds are two digits each. Every Techport
# record carries one or two, nearly all new: a third of the matcher's time at real scale.
# A bare run of up to 64 ASCII digits not starting with "0" (a compact ISBN-13, which Stinet
# documents carry, each new): the matcher's one candidate is the whole run (its pattern takes
# up to 420 digits in one), which starts with that digit, and it tries no part of a run on
# its own (an inner match starts after "/", "(", a dash, a dot or a space).
_BARE_NUMBER = re.compile(r"[1-9][0-9]{0,63}")
_DAY_FIRST = re.compile(
    r"(?:[0-2]?[0-9]|3[01])/(?:0?[1-9]|1[0-2])/[12][0-9]{3}"
    r"(?: (?:[01]?[0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?)?"
)

# A token (TOKEN_PREFIX, 64 lower-case hex digits) holds no number _phone_spans keeps either,
# and every contact of an event is one (about 80 us of matcher each, all new: a third of the
# matcher's time, the largest share of it in Techport's contact-bearing streams). Why none:
# such a number starts with "0" ("+" and "(" do not occur), which must be the first digit of
# a run of digits in the hex (":" and the hex letters are no phone punctuation, so every
# candidate of the matcher is a whole digit run); with leniency VALID a candidate next to a
# Latin letter is refused, so the run would have to be preceded by the ":" and followed by
# the end of the text: 64 digits, longer than any number. tests/ecohub/test_pii_cache.py
# holds the matcher to this over random and adversarial tokens.
_TOKEN = re.compile(r"hmac:sha256:[0-9a-f]{64}")

# The fewest digits of a number _phone_spans keeps: "+" and a country code (two digits at
# least where a national number may have four: +49, +43) and the shortest national number
# of any region (4), or "0" and a Vietnamese national number (7 or more). Derived from the
# phonenumbers metadata by tests/ecohub/test_pii_cache.py.
_MIN_PHONE_DIGITS = 6


@lru_cache(maxsize=1 << 15)
def _cached_phones(text: str) -> tuple[tuple[int, int, str], ...]:
    return tuple(_phone_spans(text))


def _phones(text: str) -> tuple[tuple[int, int, str], ...] | list[tuple[int, int, str]]:
    """:func:`_phone_spans` of ``text``, remembered for short strings.

    Why: the matcher parses every digit run and is the scanner's main cost, while two thirds
    of the digit-bearing strings of a sync are repeats (dates, codes, names); it is a pure
    function of the text, so a remembered answer is the same answer. Texts without a digit,
    timestamps (:data:`_TIMESTAMP`, :data:`_DAY_FIRST`), tokens (:data:`_TOKEN`) and bare
    numbers (:data:`_BARE_NUMBER`) are answered without the matcher, and so are texts that
    cannot hold a number :func:`_phone_spans` keeps: one starts with "0" or "+" (so the text
    holds one of them) and has at least :data:`_MIN_PHONE_DIGITS` digits. That spares the
    matcher the links and short codes every Stinet document carries
    (``https://.../tai-lieu/1234``: 3/4 of its calls, py-spy at real scale)."""
    if (not ("0" in text or "+" in text) or _TIMESTAMP.fullmatch(text)
            or _TOKEN.fullmatch(text) or _DAY_FIRST.fullmatch(text)
            or _BARE_NUMBER.fullmatch(text)):
        return ()
    if sum(map(str.isdigit, text)) < _MIN_PHONE_DIGITS:
        return ()
    if len(text) <= _CACHED_MAX_LEN:
        return _cached_phones(text)
    return list(_phone_spans(text))


def redact_text(text: str | None, key: bytes) -> str | None:
    """Replace emails and phone numbers inside free text by their tokens."""
    if text is None:
        return None
    redacted = _EMAIL.sub(lambda m: tokenize(m.group(0).lower(), key), text)
    spans = _phones(redacted)
    for start, end, e164 in reversed(spans):
        redacted = redacted[:start] + tokenize(e164, key) + redacted[end:]
    return redacted


@dataclass(frozen=True)
class PiiFinding:
    """A clear email or phone found at ``path`` (the value itself is never kept)."""

    path: str
    kind: str


def _scan_string(text: str, path: str) -> list[PiiFinding]:
    findings = [PiiFinding(path, "email")] if "@" in text and _EMAIL.search(text) else []
    if _phones(text):
        findings.append(PiiFinding(path, "phone"))
    return findings


def find_clear_pii(value: Any, path: str = "$") -> list[PiiFinding]:
    """Every place in a JSON-like value where a clear email or phone number appears."""
    if isinstance(value, str):
        return _scan_string(value, path)
    findings: list[PiiFinding] = []
    if isinstance(value, dict):
        is_id_issue = (value.get("kind") in _IDENTIFIER_ISSUES
                       or str(value.get("reason", "")).startswith("tax code:"))
        for key, item in value.items():
            if key not in _NOT_CONTACT_KEYS and not (is_id_issue and key == "value"):
                findings += find_clear_pii(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            findings += find_clear_pii(item, f"{path}[{index}]")
    return findings


@dataclass
class ContactTokens:
    """Collects one record's contacts: tokens for the shared data, clear values aside.

    ``restricted`` maps a field path (``"email"``, ``"founders[0].phone"``) to
    ``{"kind", "value", "token"}``; ``issues`` lists unusable values (with the reason but
    without the value, which may itself be personal).
    """

    key: bytes
    restricted: dict[str, dict[str, str]] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)

    def _keep(self, path: str, kind: str, value: str, token: str) -> str:
        self.restricted[path] = {"kind": kind, "value": value, "token": token}
        return token

    def _served(self, value: object, path: str, kind: str) -> str:
        """The cleaned text of a contact; an object, list or boolean is an issue (no value
        kept: it may hold personal data) and counts as absent."""
        if value is None:
            return ""
        if not is_text_like(value):
            self.issues.append({"field": path, "kind": "type", "value": None,
                                "reason": f"{kind}: expected text, got a JSON {type_name(value)}"})
            return ""
        return clean_text(str(value))

    def email(self, value: object, path: str) -> str | None:
        """Token of an email (``None`` when absent); an invalid one is tokenized as served."""
        return self._contact(value, path, "email", normalize_email)

    def phone(self, value: object, path: str) -> str | None:
        """Token of an E.164 phone (``None`` when absent); an invalid one as served."""
        return self._contact(value, path, "phone", normalize_phone)

    def _contact(
        self, value: object, path: str, kind: str, normalize: Callable[[str], str]
    ) -> str | None:
        served = self._served(value, path, kind)
        if not served:
            return None
        try:
            normalized = normalize(served)
        except NormalizationError as exc:
            self.issues.append({"field": path, "kind": kind, "reason": exc.message,
                                "value": None})
            normalized = served
        return self._keep(path, kind, normalized, tokenize(normalized, self.key))

    def text(self, value: object) -> str | None:
        """Clean free text with embedded contacts replaced by tokens."""
        cleaned = clean_text(str(value)) if is_text_like(value) else ""
        return redact_text(cleaned, self.key) if cleaned else None
