"""Test support for the warehouse: event envelopes and throw-away databases.

Shipped in the engine (not only under ``tests/``) so that every test folder, benchmark and
downstream project builds events and temporary warehouses the same way.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text

__all__ = [
    "POSTGRES_ADMIN_URL",
    "make_event",
    "postgres_schema_engine",
    "sample_data",
    "sqlite_engine",
    "temporary_postgres_database",
]

POSTGRES_ADMIN_URL = os.environ.get(
    "PGTEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/ecohub"
)
_NAMESPACE = uuid.UUID("6f1c2b0e-8d59-4b7a-9a53-2f0d6c1e4a77")


def make_event(
    entity_type: str,
    source_id: str,
    data: dict[str, Any] | None,
    *,
    portal: str = "techport",
    stream: str | None = None,
    version: int | datetime = 1_741_159_800_000,
    operation: str = "update",
    runid: str = "techport-20250305T073000Z-0a1b2c3d",
    **overrides: Any,
) -> dict[str, Any]:
    """An envelope exactly as the contract in docs/events describes it (ids deterministic)."""
    if isinstance(version, datetime):
        version = int(version.replace(tzinfo=version.tzinfo or UTC).timestamp() * 1000)
    key = f"{portal}:{entity_type}:{source_id}"
    stream = stream or f"{entity_type}s"
    when = datetime.fromtimestamp(version / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    envelope: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(uuid.uuid5(_NAMESPACE, f"{key}|{version}|{operation}")),
        "source": f"urn:ecohub:{portal}:{stream}",
        "type": f"vn.hcmc.ecohub.{entity_type}.{operation}",
        "time": when,
        "subject": key,
        "dataschema": f"https://ecohub.hcmc.vn/schemas/entities/{entity_type}/v1.json",
        "datacontenttype": "application/json",
        "operation": operation,
        "entitytype": entity_type,
        "entitykey": key,
        "entityversion": version,
        "sourceref": {"portal": portal, "stream": stream, "id": source_id, "cursor": when},
        "landinguri": f"s3://ecohub-landing/{portal}/{stream}/{when[:10]}/{runid}/page-1.json.gz",
        "runid": runid,
        "data": None if operation == "delete" else data,
    }
    envelope.update(overrides)
    return envelope


def sqlite_engine(path: Path) -> Engine:
    """A file-backed SQLite engine with the same pragmas as :func:`ecohub.db.get_engine`."""
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine


@contextmanager
def temporary_postgres_database(admin_url: str = POSTGRES_ADMIN_URL) -> Iterator[str]:
    """Create ``ecohub_test_<random>``, yield its URL, drop it afterwards."""
    name = f"ecohub_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def postgres_schema_engine(database_url: str) -> Iterator[Engine]:
    """An engine whose every connection works in a fresh schema, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:10]}"
    engine = create_engine(database_url, connect_args={"options": f"-csearch_path={schema}"})
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield engine
    finally:
        engine.dispose()
        cleanup = create_engine(database_url)
        with cleanup.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        cleanup.dispose()


def _date(value: str, text: str | None = None, precision: str = "day") -> dict[str, Any]:
    return {"value": value, "text": text or value, "precision": precision}


def _field(code: str) -> dict[str, Any]:
    from ecohub.normalize.fields import FIELDS

    cls = FIELDS[code]
    return {
        "code": code,
        "label_vi": cls.label_vi,
        "oecd_fos": cls.oecd_fos,
        "label_en": cls.label_en,
        "source_label": cls.label_vi,
    }


def _money(vnd: int | None, text: str) -> dict[str, Any]:
    return {
        "text": text,
        "status": "exact",
        "amount_vnd": vnd,
        "max_amount_vnd": None,
        "currency": "VND",
        "amount": None,
    }


def _person_name(full: str, titles: list[str], served: str) -> dict[str, Any]:
    return {"full_name": full, "titles": titles, "as_served": served}


_SAMPLES: dict[str, dict[str, Any]] = {
    "organization": {
        "name": "Công ty TNHH Công nghệ Sinh học Phương Nam",
        "legal_form": "Công ty TNHH",
        "match_key": "cong nghe sinh hoc phuong nam",
        "name_as_served": "Cty TNHH Công nghệ Sinh học Phương Nam",
        "english_name": "Phuong Nam Biotechnology Co., Ltd",
        "abbreviation": None,
        "org_kind": "enterprise",
        "kind_text": "Doanh nghiệp KH&CN",
        "parent": None,
        "tax_code": {
            "text": "0312345678",
            "valid": True,
            "value": "0312345678",
            "parent": "0312345678",
            "branch": None,
            "reason": None,
        },
        "registration": None,
        "founded": _date("2012-04-09", "09/04/2012"),
        "address": {
            "text": "268 Lý Thường Kiệt, Phường 14, Quận 10, TP. Hồ Chí Minh",
            "street": "268 Lý Thường Kiệt",
            "ward": "Phường 14",
            "district": "Quận 10",
            "province": "Thành phố Hồ Chí Minh",
            "scheme": "pre_2025",
            "province_2025": "Thành phố Hồ Chí Minh",
            "ward_2025": "Phường Diên Hồng",
        },
        "website": "https://phuongnambio.vn",
        "email_token": "hmac:sha256:" + "a1" * 32,
        "phone_token": None,
        "head": _person_name("Nguyễn Văn Bình", ["TS"], "TS. Nguyễn Văn Bình"),
        "fields": [_field("209")],
        "services": ["Chuyển giao công nghệ"],
        "description": None,
        "accreditation": None,
        "equipment_count": 12,
        "technology_count": 4,
    },
    "person": {
        "name": _person_name("Trần Thị Minh Thư", ["PGS", "TS"], "PGS.TS. Trần Thị Minh Thư"),
        "roles": ["expert"],
        "degree": "Tiến sĩ",
        "gender": "female",
        "birth_year": 1976,
        "organization": {"key": None, "name": "Trường Đại học Bách khoa - ĐHQG TP.HCM"},
        "position": "Trưởng phòng thí nghiệm",
        "fields": [_field("102")],
        "specialization": "Trí tuệ nhân tạo",
        "services": [],
        "publications": 48,
        "email_token": "hmac:sha256:" + "b2" * 32,
        "phone_token": None,
    },
    "research_project": {
        "code": "ĐTKHCN-2023-117",
        "title": "Nghiên cứu quy trình sản xuất chế phẩm vi sinh xử lý nước thải",
        "principal_investigator": _person_name("Lê Quang Huy", ["TS"], "TS. Lê Quang Huy"),
        "host_organization": {"key": None, "name": "Viện Sinh học Nhiệt đới"},
        "fields": [_field("208")],
        "budget": _money(1_500_000_000, "1,5 tỷ"),
        "start_date": _date("2023-03-01", "01/03/2023"),
        "end_date": _date("2025-02-28", "28/02/2025"),
        "status": "accepted",
        "status_text": "Đã nghiệm thu",
        "results": None,
        "document_keys": [],
    },
    "document": {
        "title": "Báo cáo tổng hợp kết quả nhiệm vụ KH&CN",
        "document_type": "task_report",
        "type_text": "Kết quả nhiệm vụ KH&CN",
        "authors": [_person_name("Lê Quang Huy", ["TS"], "TS. Lê Quang Huy")],
        "contributors": [],
        "subjects": ["vi sinh", "nước thải"],
        "fields": [_field("208")],
        "abstract": None,
        "publisher": None,
        "institution": "Viện Sinh học Nhiệt đới",
        "published": _date("2025", "2025", "year"),
        "format": "application/pdf",
        "language": "vi",
        "isbn": None,
        "issn": None,
        "research_project_code": "ĐTKHCN-2023-117",
        "full_text_available": True,
    },
    "technology_offer": {
        "title": "Dây chuyền sấy lạnh nông sản công suất 500 kg/mẻ",
        "offer_kind": "equipment",
        "fields": [_field("211")],
        "description": None,
        "origin_country": "Việt Nam",
        "maturity": "commercialized",
        "maturity_text": "Đã thương mại hóa",
        "transfer_modes": ["Bán thiết bị"],
        "price": _money(2_000_000_000, "2 tỷ đồng"),
        "supplier": {
            "key": "techport:organization:TP-NCC-0042",
            "name": "Công ty TNHH Cơ khí Bách Việt",
        },
        "published": _date("2025-03-05"),
        "views": 311,
    },
    "technology_demand": {
        "title": "Tìm công nghệ xử lý bùn thải dệt nhuộm",
        "demand_kind": "technology",
        "description": None,
        "fields": [_field("207")],
        "budget": _money(400_000_000, "400 triệu"),
        "requester": {"key": None, "name": "Công ty Cổ phần Dệt may Gia Định"},
        "contact_name": None,
        "email_token": None,
        "phone_token": None,
        "cooperation_forms": ["Chuyển giao công nghệ"],
        "deadline": _date("2025-12-31"),
        "status": "searching",
        "status_text": "Đang tìm kiếm",
        "published": _date("2025-03-05"),
    },
    "startup_project": {
        "name": "AgriSense - cảm biến IoT cho nhà kính",
        "company": {"key": None, "name": "Công ty TNHH AgriSense Việt Nam"},
        "company_tax_code": None,
        "description": None,
        "stage": "incubation",
        "fields": [_field("202")],
        "founders": [],
        "incubator": {"key": "hoip:organization:ORG-0007", "name": "SIHUB"},
        "programme_key": None,
        "requested_funding": _money(80_000_000, "80 triệu"),
        "approved_support_vnd": 80_000_000,
        "status": "active",
        "founded": _date("2023-06", "06/2023", "month"),
        "website": None,
    },
    "programme": {
        "name": "Cuộc thi Khởi nghiệp đổi mới sáng tạo TP.HCM (I-Star) 2025",
        "programme_kind": "competition",
        "organizer": {"key": None, "name": "Trung tâm Khởi nghiệp đổi mới sáng tạo (SIHUB)"},
        "start_date": _date("2025-04-01"),
        "end_date": _date("2025-10-31"),
        "budget": None,
        "description": None,
        "status": "open",
    },
    "challenge": {
        "title": "Giải pháp giảm ùn tắc khu vực sân bay Tân Sơn Nhất",
        "agency": {"key": None, "name": "Sở Giao thông Vận tải TP.HCM"},
        "description": None,
        "fields": [_field("201")],
        "reward": None,
        "deadline": _date("2025-09-30"),
        "status": "open",
        "solutions_count": 7,
    },
    "support_application": {
        "startup_project_key": "hoip:startup_project:SP-0101",
        "programme_key": None,
        "policy": "Nghị quyết 20/2023/NQ-HĐND",
        "stage": "pre_incubation",
        "requested_amount": _money(40_000_000, "40 triệu"),
        "approved_amount_vnd": 40_000_000,
        "status": "approved",
        "submitted_at": _date("2025-02-10T03:00:00.000Z", "2025-02-10T10:00:00+07:00", "instant"),
        "decided_at": _date("2025-03-01T02:00:00.000Z", "2025-03-01T09:00:00+07:00", "instant"),
    },
}


def sample_data(
    entity_type: str,
    portal: str,
    source_id: str,
    *,
    updated: str = "2025-03-05T07:30:00.000Z",
    **overrides: Any,
) -> dict[str, Any]:
    """A schema-valid canonical entity of ``entity_type`` with realistic Vietnamese values."""
    import copy

    data: dict[str, Any] = {
        "portal": portal,
        "source_id": source_id,
        "source_url": None,
        "source_revision": None,
        "created_at": None,
        "updated_at": _date(updated, updated, "instant"),
        "issues": [],
        **copy.deepcopy(_SAMPLES[entity_type]),
    }
    data.update(overrides)
    return data
