"""One canonical S&T field classification, and the tables that map each portal's labels onto it.

Why: Stinet tags records with Vietnam's S&T field classification (Bảng phân loại lĩnh vực
nghiên cứu KH&CN, Decision 12/2008/QĐ-BKHCN), Techport with its own technology categories and
H.OIP with startup-ecosystem sectors (fintech, edtech...). Downstream apps need one vocabulary.

The canonical code is the Vietnamese classification's code (``"1"``..``"6"`` for the six
major fields, ``"102"`` for *Khoa học máy tính và thông tin*...), which was modelled on the
OECD Fields of Science (Frascati Manual 2015); each entry also carries its OECD FOS code
(``"1.2"``) so international comparisons need no second table. Labels are matched after
:func:`~ecohub.normalize.text.fold` (accents, case and punctuation ignored).

A label that no table knows is kept (``code`` empty, ``source_label`` set), never dropped: the
quality gate reports unmapped labels, and the fix is one line in a table here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecohub.normalize.text import clean_bounded, clean_text, fold

__all__ = ["FIELDS", "PORTAL_LABELS", "Field", "FieldClass", "map_field", "map_fields"]


@dataclass(frozen=True)
class FieldClass:
    code: str
    label_vi: str
    oecd_fos: str
    label_en: str


_TABLE: list[tuple[str, str, str, str]] = [
    ("1", "Khoa học tự nhiên", "1", "Natural sciences"),
    ("101", "Toán học và thống kê", "1.1", "Mathematics"),
    ("102", "Khoa học máy tính và thông tin", "1.2", "Computer and information sciences"),
    ("103", "Vật lý", "1.3", "Physical sciences"),
    ("104", "Hóa học", "1.4", "Chemical sciences"),
    ("105", "Các khoa học trái đất và môi trường liên quan", "1.5",
     "Earth and related environmental sciences"),
    ("106", "Sinh học", "1.6", "Biological sciences"),
    ("199", "Khoa học tự nhiên khác", "1.7", "Other natural sciences"),
    ("2", "Khoa học kỹ thuật và công nghệ", "2", "Engineering and technology"),
    ("201", "Kỹ thuật dân dụng", "2.1", "Civil engineering"),
    ("202", "Kỹ thuật điện, kỹ thuật điện tử, kỹ thuật thông tin", "2.2",
     "Electrical engineering, electronic engineering, information engineering"),
    ("203", "Kỹ thuật cơ khí", "2.3", "Mechanical engineering"),
    ("204", "Kỹ thuật hóa học", "2.4", "Chemical engineering"),
    ("205", "Kỹ thuật vật liệu và luyện kim", "2.5", "Materials engineering"),
    ("206", "Kỹ thuật y học", "2.6", "Medical engineering"),
    ("207", "Kỹ thuật môi trường", "2.7", "Environmental engineering"),
    ("208", "Công nghệ sinh học môi trường", "2.8", "Environmental biotechnology"),
    ("209", "Công nghệ sinh học công nghiệp", "2.9", "Industrial biotechnology"),
    ("210", "Công nghệ nano", "2.10", "Nano-technology"),
    ("211", "Kỹ thuật thực phẩm và đồ uống", "2.11", "Food and beverages"),
    ("299", "Khoa học kỹ thuật và công nghệ khác", "2.11", "Other engineering and technologies"),
    ("3", "Khoa học y, dược", "3", "Medical and health sciences"),
    ("301", "Y học cơ sở", "3.1", "Basic medicine"),
    ("302", "Y học lâm sàng", "3.2", "Clinical medicine"),
    ("303", "Dược học", "3.1", "Pharmacy and pharmacology"),
    ("304", "Công nghệ sinh học trong y học", "3.4", "Medical biotechnology"),
    ("305", "Khoa học sức khỏe", "3.3", "Health sciences"),
    ("399", "Khoa học y, dược khác", "3.5", "Other medical sciences"),
    ("4", "Khoa học nông nghiệp", "4", "Agricultural sciences"),
    ("401", "Trồng trọt", "4.1", "Agriculture (crops)"),
    ("402", "Chăn nuôi", "4.2", "Animal and dairy science"),
    ("403", "Thú y", "4.3", "Veterinary science"),
    ("404", "Lâm nghiệp", "4.1", "Forestry"),
    ("405", "Thủy sản", "4.1", "Fisheries"),
    ("406", "Công nghệ sinh học trong nông nghiệp", "4.4", "Agricultural biotechnology"),
    ("499", "Khoa học nông nghiệp khác", "4.5", "Other agricultural sciences"),
    ("5", "Khoa học xã hội", "5", "Social sciences"),
    ("501", "Tâm lý học", "5.1", "Psychology"),
    ("502", "Kinh tế và kinh doanh", "5.2", "Economics and business"),
    ("503", "Khoa học giáo dục", "5.3", "Educational sciences"),
    ("504", "Xã hội học", "5.4", "Sociology"),
    ("505", "Pháp luật", "5.5", "Law"),
    ("506", "Khoa học chính trị", "5.6", "Political science"),
    ("507", "Địa lý kinh tế và xã hội", "5.7", "Social and economic geography"),
    ("508", "Thông tin đại chúng và truyền thông", "5.8", "Media and communications"),
    ("599", "Khoa học xã hội khác", "5.9", "Other social sciences"),
    ("6", "Khoa học nhân văn", "6", "Humanities"),
    ("601", "Lịch sử và khảo cổ học", "6.1", "History and archaeology"),
    ("602", "Ngôn ngữ học và văn học", "6.2", "Languages and literature"),
    ("603", "Triết học, đạo đức học và tôn giáo", "6.3", "Philosophy, ethics and religion"),
    ("604", "Nghệ thuật", "6.4", "Arts"),
    ("699", "Khoa học nhân văn khác", "6.5", "Other humanities"),
]
FIELDS: dict[str, FieldClass] = {row[0]: FieldClass(*row) for row in _TABLE}

# Spellings that every portal uses besides the official labels (short forms, English).
_COMMON: dict[str, str] = {
    "khoa hoc y duoc": "3",
    "y duoc": "3",
    "cong nghe thong tin": "102",
    "information technology": "102",
    "toan hoc": "101",
    "hoa hoc": "104",
    "vat ly hoc": "103",
    "moi truong": "207",
    "cong nghe sinh hoc": "209",
    "nong nghiep": "4",
    "kinh te": "502",
    "giao duc": "503",
    "dien dien tu": "202",
    "co khi": "203",
    "vat lieu": "205",
    "thuc pham": "211",
    "y hoc": "302",
    "khoa hoc moi truong": "105",
    "ky thuat dien dien tu": "202",
    "ky thuat vat lieu": "205",
    "ky thuat xay dung": "201",
    "xay dung": "201",
    "y te cong cong": "305",
    "cong nghe sinh hoc y hoc": "304",
    "luat hoc": "505",
    "ngon ngu hoc": "602",
    "van hoa hoc": "699",
    "tu dong hoa": "202",
    "nang luong": "299",
    "co khi che tao": "203",
    "thuong mai dien tu": "502",
    "hoa chat": "204",
    "vien thong": "202",
    "ky thuat": "2",
    "duoc lieu": "303",
    "che bien thuc pham": "211",
}

# Per-portal labels (folded) -> canonical code. Filled from the portals' written contracts
# (docs/portals/*.md); extend here when a portal adds a label.
PORTAL_LABELS: dict[str, dict[str, str]] = {
    "stinet": {},
    "techport": {},
    # H.OIP sector codes (docs/portals/hoip.md): the closest field of science of each sector.
    "hoip": {
        "ecommerce": "502",
        "fintech": "502",
        "logistics": "502",
        "edtech": "503",
        "healthtech": "305",
        "agritech": "401",
        "sustainability": "207",
        "digital transformation": "102",
        "cybersecurity": "102",
        "ai": "102",
        "iot": "202",
        "big data": "102",
        "creative industry": "604",
        "life sciences": "106",
    },
}


def _official() -> dict[str, str]:
    table: dict[str, str] = {}
    for entry in FIELDS.values():
        table[fold(entry.label_vi)] = entry.code
        table[fold(entry.label_en)] = entry.code
        table[entry.code] = entry.code
        table[fold(entry.oecd_fos)] = entry.code
    return table


_OFFICIAL = _official()


@dataclass(frozen=True)
class Field:
    """One field of a record: the canonical class (or ``None``) and the label as served."""

    source_label: str
    cls: FieldClass | None

    def to_dict(self) -> dict[str, object]:
        cls = self.cls
        return {
            "code": cls.code if cls else None,
            "label_vi": cls.label_vi if cls else None,
            "oecd_fos": cls.oecd_fos if cls else None,
            "label_en": cls.label_en if cls else None,
            "source_label": self.source_label,
        }


def map_field(portal: str, label: str) -> Field:
    """Map one served label: the portal's own table first, then official labels and codes."""
    text = clean_bounded(label, "field label")
    key = fold(text)
    code = (
        PORTAL_LABELS.get(portal, {}).get(key)
        or _OFFICIAL.get(key)
        or _COMMON.get(key)
    )
    return Field(source_label=text, cls=FIELDS[code] if code else None)


def map_fields(portal: str, labels: object) -> list[Field]:
    """Map a list (or one ``;``/``,``-free string) of labels; blanks are skipped, order kept,
    duplicates (same canonical code and label) removed."""
    if labels is None:
        return []
    items = [labels] if isinstance(labels, str) else list(labels)  # type: ignore[call-overload]
    seen: set[tuple[str | None, str]] = set()
    result: list[Field] = []
    for item in items:
        if item is None or not clean_text(str(item)):
            continue
        mapped = map_field(portal, str(item))
        marker = (mapped.cls.code if mapped.cls else None, mapped.source_label)
        if marker not in seen:
            seen.add(marker)
            result.append(mapped)
    return result
