"""Person names with Vietnamese academic titles and degrees split out.

Why: Stinet and Techport write "PGS.TS. Nguyễn Văn A", "GS.TSKH Trần B", "ThS Lê C, PhD" or
"Tiến sĩ Phạm D"; entity resolution must compare "Nguyễn Văn A" with "Nguyễn Văn A" and keep
the titles as a separate, canonical list. Vietnamese syllables never start with the consonant
clusters of the abbreviations (TS, ThS, PGS, KS, BS...), so a leading abbreviation followed by a
separator is a title, never the family name.

Canonical title codes (Vietnamese usage): ``GS`` professor, ``PGS`` associate professor,
``TSKH`` doctor of science, ``TS`` doctor (PhD), ``ThS`` master, ``KS`` engineer, ``BS``
physician, ``BSCKI``/``BSCKII`` specialist physician, ``DS`` pharmacist, ``KTS`` architect,
``CN`` bachelor, ``NCS`` doctoral candidate, ``LS`` lawyer, ``NGND``/``NGUT`` people's/meritorious
teacher, ``TTND``/``TTUT`` people's/meritorious physician. English forms map onto them.

Also removed from the name (``as_served`` keeps them): a leading honorific (``Ông``, ``Bà``,
``Anh``, ``Chị``, ``Mr``, ``Ms``...) when at least two words follow - ``Ông`` is also a rare
family name (Ông Ích Khiêm), so ``Ông Ích Khiêm`` keeps it unless a common family name
follows; a trailing role in parentheses (``Nguyễn Văn A (Trưởng khoa)``), which is never part
of a name; Cyrillic/Greek look-alike letters inside a Latin name are folded
(:func:`~ecohub.normalize.text.fold_homoglyphs`) or, when a foreign letter has no look-alike,
reported through ``mixed_script`` for the mapper to flag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from ecohub.errors import NormalizationError
from ecohub.normalize.text import clean_bounded, clean_text, fold, fold_homoglyphs

__all__ = ["TITLE_CODES", "PersonName", "split_person_name"]

# folded spelling -> canonical code; longest spellings are tried first.
_TITLE_SPELLINGS: dict[str, str] = {
    "gs": "GS",
    "giao su": "GS",
    "prof": "GS",
    "professor": "GS",
    "pgs": "PGS",
    "pho giao su": "PGS",
    "assoc prof": "PGS",
    "associate professor": "PGS",
    "tskh": "TSKH",
    "tien si khoa hoc": "TSKH",
    "ts": "TS",
    "tien si": "TS",
    "dr": "TS",
    "phd": "TS",
    "ph d": "TS",
    "ths": "ThS",
    "thac si": "ThS",
    "th s": "ThS",
    "msc": "ThS",
    "m sc": "ThS",
    "ks": "KS",
    "ky su": "KS",
    "bsckii": "BSCKII",
    "bs ckii": "BSCKII",
    "bsck2": "BSCKII",
    "bsck ii": "BSCKII",
    "bscki": "BSCKI",
    "bs cki": "BSCKI",
    "bsck1": "BSCKI",
    "bsck i": "BSCKI",
    "bs": "BS",
    "bac si": "BS",
    "ds": "DS",
    "duoc si": "DS",
    "kts": "KTS",
    "kien truc su": "KTS",
    "cn": "CN",
    "cu nhan": "CN",
    "ncs": "NCS",
    "nghien cuu sinh": "NCS",
    "ls": "LS",
    "luat su": "LS",
    "ngnd": "NGND",
    "nha giao nhan dan": "NGND",
    "ngut": "NGUT",
    "nha giao uu tu": "NGUT",
    "ttnd": "TTND",
    "thay thuoc nhan dan": "TTND",
    "ttut": "TTUT",
    "thay thuoc uu tu": "TTUT",
    "mba": "MBA",
}
TITLE_CODES: frozenset[str] = frozenset(_TITLE_SPELLINGS.values())

_HONORIFICS = frozenset({"ong", "ba", "anh", "chi", "co", "mr", "mrs", "ms", "miss", "mr.",
                         "ngai", "em", "chu", "bac"})
# The commonest Vietnamese family names (folded): after one of them a leading honorific is
# certainly one, even when only one more word follows.
_FAMILY_NAMES = frozenset({
    "nguyen", "tran", "le", "pham", "hoang", "huynh", "phan", "vu", "vo", "dang", "bui", "do",
    "ho", "ngo", "duong", "ly", "truong", "dinh", "lam", "mai", "trinh", "doan", "luong", "cao",
    "ha", "ta", "quach", "thai", "luu", "ton", "chau", "tang", "vuong", "la", "kieu", "lai",
})
_ROLE = re.compile(r"\s*\(([^()]*)\)\s*$")
_SEPARATORS = re.compile(r"[.\-/:]+")
_TRAILING = re.compile(r"[,(]\s*([^,()]+?)\s*\)?\s*$")
_MAX_WIDTH = 4

@dataclass(frozen=True)
class PersonName:
    """A person's name without titles; ``as_served`` keeps the portal's text."""

    full_name: str
    titles: list[str] = field(default_factory=list)
    as_served: str = ""
    mixed_script: bool = False  # a Cyrillic/Greek letter without a Latin look-alike remains

    def to_dict(self) -> dict[str, object]:
        return {"full_name": self.full_name, "titles": list(self.titles),
                "as_served": self.as_served}


def _title_code(token: str) -> str | None:
    return _TITLE_SPELLINGS.get(fold(token))


def _take_dotted(word: str, titles: list[str]) -> str | None:
    """'PGS.TS.' -> '' and 'PGS.TS.Nguyễn' -> 'Nguyễn' (titles taken); None if no title."""
    parts = _SEPARATORS.split(word)
    taken = 0
    for part in parts:
        code = _title_code(part) if part else None
        if code is None:
            break
        titles.append(code)
        taken += 1
    if taken == 0:
        return None
    return ".".join(p for p in parts[taken:] if p)


def _take_leading(rest: str, titles: list[str]) -> str:
    """Strip leading titles, trying multi-word spellings ("Phó Giáo sư") before one word."""
    words = rest.split()
    while len(words) > 1:
        for width in range(min(_MAX_WIDTH, len(words) - 1), 1, -1):
            code = _title_code(" ".join(words[:width]))
            if code:
                titles.append(code)
                words = words[width:]
                break
        else:
            whole = _title_code(words[0])
            if whole:
                titles.append(whole)
                words = words[1:]
                continue
            remainder = _take_dotted(words[0], titles)
            if remainder is None:
                break
            words = ([remainder] if remainder else []) + words[1:]
    return " ".join(words)


def _take_honorific(rest: str) -> str:
    """Drop a leading ``Ông``/``Bà``/``Mr.``... (see the module doc for when)."""
    words = rest.split()
    if len(words) < 3 or fold(words[0]) not in _HONORIFICS:
        return rest
    if len(words) >= 4 or fold(words[1]) in _FAMILY_NAMES:
        return " ".join(words[1:])
    return rest


def _take_role(rest: str, titles: list[str]) -> str:
    """Drop a trailing ``(Trưởng khoa)``; a degree in parentheses goes to ``titles``."""
    match = _ROLE.search(rest)
    if match is None or not rest[: match.start()].strip():
        return rest
    code = _title_code(match.group(1))
    if code is not None:
        titles.append(code)
    return rest[: match.start()].rstrip(" ,")


def _take_trailing(rest: str, titles: list[str]) -> str:
    """Strip trailing ", PhD" or "(ThS)" style degrees."""
    while True:
        match = _TRAILING.search(rest)
        if not match:
            return rest
        code = _title_code(match.group(1))
        if code is None:
            return rest
        titles.append(code)
        rest = rest[: match.start()].rstrip(" ,")


def split_person_name(value: str) -> PersonName:
    """Split titles from a name: ``"PGS.TS. Nguyễn Văn A"`` -> ``Nguyễn Văn A``, [PGS, TS].

    Raises :class:`NormalizationError` when nothing but titles (or nothing at all) is left.
    Idempotent on the name: splitting ``full_name`` again yields the same name and no titles.
    Remembered for short names (a pure function; authors and contacts repeat across records;
    the result is shared, so its ``titles`` are read, never changed: ``to_dict`` copies them).
    """
    if type(value) is str and len(value) <= _CACHED_MAX_LEN:
        return _cached_split(value)
    return _split_person_name(value)


def _split_person_name(value: str) -> PersonName:
    as_served = clean_bounded(value, "person name")
    titles: list[str] = []
    folded, mixed = fold_homoglyphs(as_served)
    rest = _take_role(folded, titles)
    rest = _take_honorific(rest)
    rest = _take_leading(rest, titles)
    rest = _take_trailing(rest, titles)
    name = clean_text(rest.strip(" ,.-:;"))
    only_titles = _title_code(name) is not None or _take_dotted(name, []) == ""
    if not name or only_titles or not any(ch.isalpha() for ch in name):
        raise NormalizationError(
            "person name is empty once titles are removed", field="name", value=as_served
        )
    return PersonName(full_name=name, titles=titles, as_served=as_served, mixed_script=mixed)


_CACHED_MAX_LEN = 80
_cached_split = lru_cache(maxsize=1 << 15)(_split_person_name)
