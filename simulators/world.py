"""The one shared world of real organizations and experts behind the three portals.

Why: entity resolution can only be scored if the simulator knows who is who. The world is
generated once from (seed, scale); each portal shows a subset of it under its own spellings
and ids, and the admin truth names the world id (``W-ORG-000123``, ``W-PER-000045``) of every
organization and expert record.

Namesakes occur at realistic rates (issue 14): persons draw family, middle and given names
from Vietnam's frequencies (a handful of family names cover most people), so many different
experts share a full name, also in the same field; centers belonging to a university or an
institute ("Trung tâm Chuyển giao Công nghệ") share their name with centers of other parents;
laboratories (``W-LAB-...``) of the same name exist under many parents.

Fairness rules (so a careful matcher that uses all the evidence can reach precision >= 0.99
and recall >= 0.98; a name-only matcher cannot):

* world organizations without a parent have distinct accent-, case- and punctuation-free core
  names (the name without its legal form); organizations with a parent have distinct (core,
  parent) pairs; laboratories distinct (topic, parent) pairs; every organization, laboratory
  and person has its own tax code (organizations), e-mail and phone;
* world persons have distinct e-mails and phones, and persons of the same name never work at
  organizations of the same name;
* a record whose tax code is missing or mistyped always shows an "easy" name (legal-form
  variant, case, Unicode and whitespace noise only) and its e-mail; English names or a dropped
  suffix appear only next to a correct tax code;
* an expert record without e-mail always shows its affiliation with an easy name and the full
  name; a name without its middle name is shown only next to the e-mail;
* a startup project names its company with an easy name (it shows no e-mail to bridge an
  English name);
* a laboratory record always names its parent organization.
"""

from __future__ import annotations

import math
import random
from array import array
from dataclasses import dataclass, field
from functools import lru_cache

from simulators import vocab
from simulators.noise import (
    SUFFIX_VARIANTS,
    fold,
    make_tax_code,
    messy,
    phone_text,
    show_tax,
)
from simulators.rand import rng

_SURNAMES, _SURNAME_W = tuple(vocab.SURNAME_WEIGHTS), tuple(vocab.SURNAME_WEIGHTS.values())
_MIDDLES, _MIDDLE_W = tuple(vocab.MIDDLE_WEIGHTS), tuple(vocab.MIDDLE_WEIGHTS.values())
_GIVENS, _GIVEN_W = tuple(vocab.GIVEN_WEIGHTS), tuple(vocab.GIVEN_WEIGHTS.values())

__all__ = [
    "FORMS",
    "KINDS",
    "ORG_QUOTAS",
    "Lab",
    "Membership",
    "Org",
    "Person",
    "Style",
    "World",
    "get_world",
    "lab_display",
    "org_display",
    "person_display",
    "person_name",
]

# legal form key -> (canonical prefix, variants, English suffix)
FORMS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "tnhh": (
        "Công ty TNHH",
        ("Cty TNHH", "CÔNG TY TNHH", "Công ty Trách nhiệm hữu hạn", "Công Ty TNHH", "CTY TNHH"),
        "Co., Ltd.",
    ),
    "cp": (
        "Công ty Cổ phần",
        ("Công ty CP", "CTCP", "Cty CP", "Cty Cổ phần", "CÔNG TY CỔ PHẦN"),
        "JSC",
    ),
    "dh": ("Trường Đại học", ("Trường ĐH", "Đại học", "ĐH", "Trường Đại Học"), ""),
    "vien": ("Viện", ("VIỆN", "Viện"), ""),
    "tt": ("Trung tâm", ("TT", "TRUNG TÂM", "Trung Tâm"), ""),
    "quy": ("Quỹ", ("QUỸ", "Quỹ"), ""),
    "": ("", ("",), ""),
}
KINDS = (
    "university",
    "institute",
    "center",
    "company",
    "incubator",
    "accelerator",
    "investor",
    "agency",
)
_CENTER_SERVICES = (
    ("Nghiên cứu và Phát triển", "Research and Development"),
    ("Ứng dụng Tiến bộ KH&CN", "Application of S&T Advances"),
    ("Chuyển giao Công nghệ", "Technology Transfer"),
    ("Kiểm định", "Testing"),
    ("Tư vấn", "Consulting"),
    ("Đào tạo", "Training"),
    ("Thông tin", "Information"),
    ("Thí nghiệm", "Laboratory"),
)
_POSITIONS = (
    "Giảng viên",
    "Giảng viên chính",
    "Nghiên cứu viên",
    "Trưởng khoa",
    "Phó Viện trưởng",
    "Trưởng phòng thí nghiệm",
    "Giám đốc kỹ thuật",
    "Chuyên viên",
)


@dataclass(frozen=True, slots=True)
class Org:
    """One real-world organization; ``name`` is its canonical Vietnamese name."""

    index: int
    kind: str
    form: str
    core: str
    suffix: str
    sep: str
    name_en: str
    abbr: str | None
    tax: str
    founded_year: int
    ward: int
    number: str
    street: str
    phone: str
    email: str
    domain: str
    field: str
    parent: int | None = None

    @property
    def wid(self) -> str:
        return f"W-ORG-{self.index:06d}"

    @property
    def name(self) -> str:
        prefix = FORMS[self.form][0]
        base = f"{prefix} {self.core}".strip()
        return f"{base}{self.sep}{self.suffix}" if self.suffix else base


@dataclass(frozen=True, slots=True)
class Person:
    """One real-world expert, with academic title and workplace."""

    index: int
    surname: str
    middle: str
    given: str
    title: str
    gender: str
    birth_year: int
    affiliation: int
    email: str
    phone: str
    field: str
    position: str

    @property
    def wid(self) -> str:
        return f"W-PER-{self.index:06d}"

    @property
    def name(self) -> str:
        return f"{self.surname} {self.middle} {self.given}"


@dataclass(frozen=True, slots=True)
class Lab:
    """One real-world laboratory inside ``parent`` (a university or an institute)."""

    index: int
    parent: int
    topic: str
    topic_en: str
    lab_type: int
    email: str
    phone: str

    @property
    def wid(self) -> str:
        return f"W-LAB-{self.index:06d}"

    @property
    def name(self) -> str:
        return f"Phòng thí nghiệm {self.topic}"


@dataclass
class Membership:
    """Which world entities one portal resource shows, in record-index order.

    ``ids[i]`` is the world index of record ``i`` (persons are stored as ``-1 - index``).
    New records (simulated creates) take the next unused entity of a kind drawn by quota.
    """

    ids: array
    pools: dict[str, list[int]]
    quotas: dict[str, float]
    cursor: dict[str, int] = field(default_factory=dict)

    def take(self, r: random.Random) -> int:
        kinds = list(self.quotas)
        order = r.choices(kinds, weights=[self.quotas[k] for k in kinds], k=1) + kinds
        for kind in order:
            pool, at = self.pools[kind], self.cursor.get(kind, 0)
            if at < len(pool):
                self.cursor[kind] = at + 1
                self.ids.append(pool[at])
                return pool[at]
        reused = self.ids[r.randrange(len(self.ids))]  # world exhausted: a duplicate listing
        self.ids.append(reused)
        return reused


class World:
    """Organizations and persons of one (seed, scale); see :func:`get_world`."""

    def __init__(self, seed: int, kind_counts: dict[str, int], persons: int, labs: int = 0) -> None:
        self.seed = seed
        self.orgs: list[Org] = []
        self.by_kind: dict[str, list[int]] = {k: [] for k in KINDS}
        self._cores: set[tuple[str, int | None]] = set()
        self._taxes: set[str] = set()
        self._domains: set[str] = set()
        self._phones: set[str] = set()
        for kind in KINDS:
            self._grow(kind, kind_counts.get(kind, 0))
        self.persons: list[Person] = []
        self._person_keys: set[tuple[str, str]] = set()
        self._emails: set[str] = set()
        r = rng(seed, "world", "persons")
        hosts = [i for k in ("university", "institute", "center") for i in self.by_kind[k]]
        companies = self.by_kind["company"] or hosts
        for _ in range(persons):
            self._add_person(r, hosts, companies)
        self.labs: list[Lab] = []
        self._add_labs(labs)

    # -- organizations -------------------------------------------------------------------------
    def _grow(self, kind: str, count: int) -> None:
        r = rng(self.seed, "world", kind)
        made, attempts = 0, 0
        while made < count and attempts < count * 4 + 200:
            spec = self._org_spec(kind, attempts, r)
            attempts += 1
            if spec is None:
                break
            key = (fold(spec["core"]), spec.get("parent"))
            if key in self._cores:
                continue
            self._cores.add(key)
            tax = make_tax_code(r, branch=kind == "company" and r.random() < 0.04)
            while tax[:10] in self._taxes:
                tax = make_tax_code(r)
            self._taxes.add(tax[:10])
            domain = self._unique_domain(spec["domain"])
            ward = spec.get("ward", r.randrange(len(vocab.WARDS)))
            street = spec.get("street") or r.choice(vocab.WARDS[ward][3])
            number = (
                spec.get("number")
                or f"{r.randint(1, 420)}{r.choice(('', '', '', 'A', '/12', 'B'))}"
            )
            org = Org(
                index=len(self.orgs),
                kind=kind,
                form=spec["form"],
                core=spec["core"],
                suffix=spec.get("suffix", ""),
                sep=spec.get("sep", " "),
                name_en=spec["en"],
                abbr=spec.get("abbr"),
                tax=tax,
                founded_year=spec.get("year", r.randint(1976, 2023)),
                ward=ward,
                number=number,
                street=street,
                phone=self._unique_phone(r, "028" + r.choice("3567"), 7),
                email=f"{spec.get('mailbox', 'info')}@{domain}",
                domain=domain,
                field=r.choice(list(vocab.FIELDS)),
                parent=spec.get("parent"),
            )
            self.orgs.append(org)
            self.by_kind[kind].append(org.index)
            made += 1

    def _unique_phone(self, r: random.Random, prefix: str, digits: int) -> str:
        """Phones are evidence for matching too: no two entities share one."""
        while True:
            phone = prefix + "".join(r.choice("0123456789") for _ in range(digits))
            if phone not in self._phones:
                self._phones.add(phone)
                return phone

    def _unique_domain(self, domain: str) -> str:
        """Org domains are evidence for matching, so no two organizations share one."""
        name, _, tld = domain.partition(".")
        candidate, n = domain, 1
        while candidate in self._domains:
            n += 1
            candidate = f"{name}{n}.{tld}"
        self._domains.add(candidate)
        return candidate

    def _org_spec(self, kind: str, nth: int, r: random.Random) -> dict | None:
        if kind == "university" and nth < len(vocab.UNIVERSITIES):
            core, suffix, en, abbr, domain, ward, number = vocab.UNIVERSITIES[nth]
            sep = " – " if suffix == "ĐHQG-HCM" else " "
            return {
                "form": "dh",
                "core": core,
                "suffix": suffix,
                "sep": sep,
                "en": en,
                "abbr": abbr,
                "domain": domain,
                "ward": ward,
                "number": number,
                "street": vocab.WARDS[ward][3][0],
                "year": r.randint(1957, 2005),
            }
        if kind == "agency":
            if nth < len(vocab.AGENCIES):
                name, en, abbr, domain = vocab.AGENCIES[nth]
                return {
                    "form": "",
                    "core": name.removesuffix(" TP.HCM"),
                    "suffix": "TP.HCM",
                    "en": en,
                    "abbr": abbr,
                    "domain": domain,
                    "year": r.randint(1976, 2010),
                }
            k = nth - len(vocab.AGENCIES)
            if k >= len(vocab.WARDS):
                return None
            new_ward = vocab.WARDS[k][2]
            return {
                "form": "",
                "core": f"Ủy ban nhân dân {new_ward}",
                "en": f"People's Committee of {fold(new_ward).title()} Ward",
                "domain": f"{fold(new_ward).replace(' ', '')}.hochiminhcity.gov.vn",
                "ward": k,
                "year": 2025,
            }
        if kind == "incubator" and nth == 0:
            return {
                "form": "tt",
                "core": "Khởi nghiệp Đổi mới Sáng tạo",
                "suffix": "TP.HCM",
                "en": "Saigon Innovation Hub",
                "abbr": "SIHUB",
                "domain": "sihub.gov.vn",
                "ward": 4,
                "number": "123",
                "street": "Trương Định",
                "year": 2017,
            }
        brand = f"{r.choice(vocab.BRAND_A)} {r.choice(vocab.BRAND_B)}"
        if r.random() < 0.3:
            brand += f" {r.choice(vocab.BRAND_TAILS)}"
        brand_en = fold(brand).title()
        slug = fold(brand).replace(" ", "")
        if kind in ("university", "institute"):
            topic, topic_en = r.choice(vocab.INSTITUTE_TOPICS)
            qual, qual_en = r.choice(
                vocab.INSTITUTE_QUALIFIERS[1:]
                if kind == "university"
                else vocab.INSTITUTE_QUALIFIERS
            )
            pre = "Nghiên cứu " if kind == "institute" and r.random() < 0.4 else ""
            core = f"{pre}{topic} {qual}".strip()
            en = (
                f"{qual_en} University of {topic_en}"
                if kind == "university"
                else f"Institute of {topic_en}{', ' + qual_en if qual_en else ''}"
            )
            abbr = "".join(w[0] for w in fold(core).split()).upper()
            dom = fold(core).replace(" ", "")[:18] + (
                ".edu.vn" if kind == "university" else ".ac.vn"
            )
            return {
                "form": "dh" if kind == "university" else "vien",
                "core": core,
                "en": en,
                "abbr": abbr,
                "domain": dom,
            }
        if kind == "center":
            svc, svc_en = r.choice(_CENTER_SERVICES)
            topic, topic_en = r.choice(vocab.INSTITUTE_TOPICS)
            parents = self.by_kind["university"] + self.by_kind["institute"]
            if parents and r.random() < 0.45:  # a center of a university or an institute
                parent = self.orgs[r.choice(parents)]
                return {
                    "form": "tt",
                    "core": f"{svc} {topic}",
                    "en": f"Center for {svc_en} in {topic_en}, {parent.name_en}",
                    "abbr": None,
                    "domain": f"{fold(svc + ' ' + topic).replace(' ', '')[:14]}.{parent.domain}",
                    "parent": parent.index,
                    "ward": parent.ward,
                    "street": parent.street,
                    "number": parent.number,
                }
            qual, qual_en = r.choice(vocab.INSTITUTE_QUALIFIERS)
            core = f"{svc} {topic} {qual}".strip()
            return {
                "form": "tt",
                "core": core,
                "en": f"Center for {svc_en} in {topic_en} {qual_en}".strip(),
                "abbr": None,
                "domain": fold(f"{topic} {qual}").replace(" ", "")[:16] + ".org.vn",
            }
        if kind == "company":
            ind, ind_en, ind_abbr = r.choice(vocab.INDUSTRIES)
            form = "tnhh" if r.random() < 0.68 else "cp"
            return {
                "form": form,
                "core": f"{ind} {brand}",
                "en": f"{brand_en} {ind_en} {FORMS[form][2]}",
                "abbr": (slug[:4] + ind_abbr).upper(),
                "domain": f"{slug}{ind_abbr.lower()}.com.vn",
                "mailbox": r.choice(("info", "contact", "sales", "lienhe")),
            }
        if kind == "incubator":
            core, en = r.choice(vocab.INCUBATOR_CORES)
            host, host_en = r.choice((*vocab.INSTITUTE_QUALIFIERS[1:], (brand, brand_en)))
            return {
                "form": "tt" if not core.startswith("Vườn") else "",
                "core": f"{core} {host}",
                "en": f"{host_en} {en} Center",
                "abbr": None,
                "domain": f"{slug}hub.vn",
            }
        if kind == "accelerator":
            return {
                "form": "cp",
                "core": f"Thúc đẩy Kinh doanh {brand}",
                "en": f"{brand_en} Accelerator JSC",
                "abbr": f"{slug[:5].upper()}ACC",
                "domain": f"{slug}accelerator.vn",
            }
        # investor
        core, en = r.choice(vocab.INVESTOR_CORES)
        form = "quy" if r.random() < 0.5 else "cp"
        return {
            "form": form,
            "core": f"{core} {brand}",
            "en": f"{brand_en} {en} {'Fund' if form == 'quy' else 'JSC'}",
            "abbr": f"{slug[:4].upper()}VC",
            "domain": f"{slug}ventures.vn",
        }

    # -- persons -------------------------------------------------------------------------------
    def _add_person(self, r: random.Random, hosts: list[int], companies: list[int]) -> None:
        while True:
            surname, middle, given = person_name(r)
            aff = r.choice(hosts) if (r.random() < 0.85 and hosts) else r.choice(companies)
            # namesakes never work at namesake organizations (the records could not tell them
            # apart: an expert record without e-mail names only the organization)
            key = (fold(f"{surname} {middle} {given}"), fold(self.orgs[aff].core))
            if key in self._person_keys:
                continue
            base = f"{fold(given)}.{fold(surname)}{fold(middle)[0]}".replace(" ", "")
            domain = (
                self.orgs[aff].domain
                if r.random() < 0.75
                else r.choice(("gmail.com", "yahoo.com", "outlook.com"))
            )
            email = f"{base}@{domain}"
            n = 1
            while email in self._emails:
                n += 1
                email = f"{base}{n}@{domain}"
            break
        self._person_keys.add(key)
        self._emails.add(email)
        title = r.choices(("gs", "pgs", "ts", "ths", "ks", ""), weights=(4, 12, 38, 26, 8, 12))[0]
        gender = "Nữ" if "Thị" in middle or r.random() < 0.3 else "Nam"
        self.persons.append(
            Person(
                index=len(self.persons),
                surname=surname,
                middle=middle,
                given=given,
                title=title,
                gender=gender,
                birth_year=r.randint(1955, 1995),
                affiliation=aff,
                email=email,
                phone=self._unique_phone(r, r.choice(vocab.MOBILE_PREFIXES), 7),
                field=r.choice(list(vocab.FIELDS)),
                position=r.choice(_POSITIONS),
            )
        )

    # -- laboratories --------------------------------------------------------------------------
    def _add_labs(self, count: int) -> None:
        """Laboratories of universities and institutes; common topics make many namesakes."""
        r = rng(self.seed, "world", "labs")
        parents = self.by_kind["university"] + self.by_kind["institute"]
        seen: set[tuple[int, int]] = set()
        attempts = 0
        while len(self.labs) < count and parents and attempts < count * 20:
            attempts += 1
            parent = r.choice(parents)
            topic = r.randrange(len(vocab.INSTITUTE_TOPICS) // 2)  # the common half
            if (topic, parent) in seen:
                continue
            seen.add((topic, parent))
            vi, en = vocab.INSTITUTE_TOPICS[topic]
            slug = "".join(w[0] for w in fold(vi).split())
            email = f"ptn.{slug}@{self.orgs[parent].domain}"
            n = 1
            while email in self._emails:
                n += 1
                email = f"ptn.{slug}{n}@{self.orgs[parent].domain}"
            self._emails.add(email)
            self.labs.append(
                Lab(
                    index=len(self.labs),
                    parent=parent,
                    topic=vi,
                    topic_en=en,
                    lab_type=r.randrange(3),
                    email=email,
                    phone=self._unique_phone(r, "028" + r.choice("3567"), 7),
                )
            )

    def lab_listing(self, key: str, n: int, duplicates: float = 0.1) -> array:
        """World lab indexes of ``n`` records; a share ``duplicates`` re-list a lab."""
        r = rng(self.seed, "labs", key)
        order = list(range(len(self.labs)))
        r.shuffle(order)
        ids = array("q")
        for _ in range(n):
            if ids and (r.random() < duplicates or not order):
                ids.append(ids[r.randrange(len(ids))])
            else:
                ids.append(order.pop())
        return ids

    # -- portal subsets ------------------------------------------------------------------------
    def membership(self, key: str, n: int, quotas: dict[str, float]) -> Membership:
        """The first ``n`` entities of a resource, by kind quota (``"person"`` = experts)."""
        r = rng(self.seed, "members", key)
        pools: dict[str, list[int]] = {}
        for kind in quotas:
            pool = (
                [-1 - p.index for p in self.persons]
                if kind == "person"
                else list(self.by_kind[kind])
            )
            r.shuffle(pool)
            pools[kind] = pool
        membership = Membership(ids=array("q"), pools=pools, quotas=dict(quotas))
        want = {k: round(n * q) for k, q in quotas.items()}
        picked: list[int] = []
        for kind, count in want.items():
            take = min(count, len(pools[kind]))
            picked += pools[kind][:take]
            membership.cursor[kind] = take
        r.shuffle(picked)
        membership.ids.extend(picked[:n])
        while len(membership.ids) < n:
            membership.take(r)
        return membership


# --- displays ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Style:
    """How carefully a portal's users type: probabilities of each kind of variation."""

    tax: tuple[float, float, float, float]  # ok, fmt, missing, typo
    hard_name: float
    form_variant: float
    noise: float
    new_address: float


def _easy_name(org: Org, r: random.Random, style: Style, world: World | None = None) -> str:
    prefix, variants, _ = FORMS[org.form]
    if prefix and r.random() < style.form_variant:
        prefix = r.choice(variants)
    name = f"{prefix} {org.core}".strip()
    if org.suffix:
        name += r.choice((org.sep, " - ", ", ", " ")) + r.choice(SUFFIX_VARIANTS[org.suffix])
    if org.parent is not None and world is not None and r.random() < 0.5:
        parent = world.orgs[org.parent]
        name += r.choice((" - ", " – ", ", ", " thuộc ")) + (
            parent.abbr if parent.abbr and r.random() < 0.5 else _easy_name(parent, r, style)
        )
    if r.random() < 0.04:
        name = name.upper()
    return messy(name, r, style.noise)


def person_name(r: random.Random) -> tuple[str, str, str]:
    """(surname, middle, given) drawn at Vietnam's name frequencies (``vocab.*_WEIGHTS``)."""
    return (
        r.choices(_SURNAMES, weights=_SURNAME_W)[0],
        r.choices(_MIDDLES, weights=_MIDDLE_W)[0],
        r.choices(_GIVENS, weights=_GIVEN_W)[0],
    )


def org_display(
    org: Org,
    r: random.Random,
    style: Style,
    when_ts: int,
    world: World | None = None,
    *,
    easy: bool = False,
) -> dict:
    """How one record shows ``org``: name, English name, tax code, address, contacts.

    ``easy``: never an English or shortened name (for records that show no e-mail field).
    """
    mode = r.choices(("ok", "fmt", "missing", "typo"), weights=style.tax)[0]
    tax = show_tax(org.tax, r, mode)
    hard = mode in ("ok", "fmt") and r.random() < style.hard_name and not easy
    if hard:
        name = (
            org.name_en
            if (r.random() < 0.6 or not org.suffix)
            else f"{FORMS[org.form][0]} {org.core}".strip()
        )
        name = messy(name, r, style.noise)
    else:
        name = _easy_name(org, r, style, world)
    old, new_ward = vocab.WARDS[org.ward][0], vocab.WARDS[org.ward][2]
    use_new = when_ts >= 1751302800 and r.random() < style.new_address  # 2025-07-01 +07:00
    city = r.choice(("TP.HCM", "TP. Hồ Chí Minh", "Thành phố Hồ Chí Minh", "Tp. HCM"))
    if org.number == org.street:
        street = org.street
    elif org.number.startswith("Khu"):
        street = f"{org.number}, {org.street}"
    else:
        street = f"{org.number} {org.street}"
    if use_new:
        address = f"{street}, {new_ward}, {city}"
        parts = {"street": street, "ward": new_ward, "district": None, "city": city}
    else:
        ward = vocab.WARDS[org.ward][1]
        if r.random() < 0.25:
            ward = ward.replace("Phường ", "P.")
        address = f"{street}, {ward}, {old}, {city}"
        parts = {"street": street, "ward": ward, "district": old, "city": city}
    return {
        "name": name,
        "name_en": org.name_en if r.random() < 0.7 else None,
        "abbr": org.abbr if r.random() < 0.6 else None,
        "tax": tax,
        "tax_mode": mode,
        "address": messy(address, r, style.noise * 0.5),
        "address_parts": parts,
        "phone": phone_text(org.phone, r) if r.random() < 0.85 else None,
        # a record without a usable tax code or with a hard name always shows its e-mail
        "email": org.email if (r.random() < 0.8 or mode in ("missing", "typo") or hard) else None,
        "website": f"https://{org.domain}" if r.random() < 0.7 else None,
    }


def person_display(person: Person, world: World, r: random.Random, style: Style) -> dict:
    """How one record shows ``person``: name with or without titles, workplace, contacts."""
    email_mode = r.choices(("ok", "upper", "missing"), weights=(80, 5, 15))[0]
    title_prefix = ""
    if person.title and r.random() < 0.8:
        title_prefix = r.choice(vocab.TITLES[person.title][2])
    name = person.name
    if email_mode != "missing" and r.random() < 0.05:
        name = fold(name).title()
    elif email_mode != "missing" and r.random() < 0.04:  # the middle name left out
        name = f"{person.surname} {person.given}"
    elif r.random() < 0.05:
        name = name.upper()
    shown = f"{title_prefix} {name}".strip()
    affiliation = world.orgs[person.affiliation]
    return {
        "name": messy(shown, r, style.noise),
        "title": person.title,
        "degree": vocab.TITLES[person.title][1],
        "email": None
        if email_mode == "missing"
        else (person.email.upper() if email_mode == "upper" else person.email),
        "phone": phone_text(person.phone, r) if r.random() < 0.75 else None,
        "affiliation": _easy_name(affiliation, r, style, world),
        "affiliation_index": affiliation.index,
    }


def lab_display(
    lab: Lab, world: World, r: random.Random, style: Style, when_ts: int, relisted: bool = False
) -> dict:
    """How one record shows ``lab``: name variants, parent organization, its own contacts.

    A ``relisted`` lab (listed again by its faculty) shows none of the lab's own contacts.
    """
    parent = world.orgs[lab.parent]
    name = f"{r.choice(vocab.LAB_PREFIXES)} {lab.topic}"
    if r.random() < 0.04:
        name = name.upper()
    where = org_display(parent, r, style, when_ts, world)
    return {
        "name": messy(name, r, style.noise),
        "name_en": f"Laboratory of {lab.topic_en}" if r.random() < 0.5 else None,
        "parent": parent,
        "parent_name": _easy_name(parent, r, style, world),
        "address": where["address"],
        "email": lab.email if r.random() < 0.85 and not relisted else None,
        "phone": phone_text(lab.phone, r) if r.random() < 0.75 and not relisted else None,
    }


# --- sizing -----------------------------------------------------------------------------------
# Entities each org-holding resource shows, by kind, as a fraction of the resource size.
ORG_QUOTAS: dict[str, dict[str, float]] = {
    "stinet/organizations": {"university": 0.25, "institute": 0.35, "center": 0.3, "company": 0.1},
    "techport/nha-cung-cap": {
        "company": 0.82,
        "institute": 0.06,
        "university": 0.04,
        "center": 0.08,
    },
    "techport/tu-van": {"person": 0.6, "company": 0.2, "center": 0.14, "institute": 0.06},
    "hoip/organizations": {
        "incubator": 0.12,
        "accelerator": 0.08,
        "investor": 0.22,
        "university": 0.1,
        "institute": 0.06,
        "agency": 0.08,
        "company": 0.34,
    },
    "stinet/experts": {"person": 1.0},
}


def _world_sizes(sizes: dict[str, int]) -> tuple[dict[str, int], int]:
    counts = dict.fromkeys(KINDS, 0)
    persons = 0
    for key, quotas in ORG_QUOTAS.items():
        n = sizes.get(key, 0)
        for kind, share in quotas.items():
            need = math.ceil(n * share * 1.6) + 3
            if kind == "person":
                persons = max(persons, need)
            else:
                counts[kind] = max(counts[kind], need)
    counts["company"] += counts["company"] // 4  # startups of H.OIP projects
    return counts, persons


@lru_cache(maxsize=4)
def get_world(seed: int, scale: str) -> World:
    """The world of ``(seed, scale)``; cached so servers in one process share it."""
    from simulators.scales import resource_sizes

    sizes = resource_sizes(scale)
    counts, persons = _world_sizes(sizes)
    labs = math.ceil(sizes.get("stinet/laboratories", 0) * 1.2) + 3
    return World(seed, counts, persons, labs)
