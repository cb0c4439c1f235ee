"""Sample portal records shaped as in docs/portals/*.md (real-looking, hand-written)."""

from __future__ import annotations

from typing import Any

import pytest

from ecohub.records import SourceRecord

LANDING = "s3://ecohub-landing/{portal}/{stream}/2026-03-01/run-test/page-1.json.gz"


def source(portal: str, stream: str, key: str, data: dict[str, Any], **kw: Any) -> SourceRecord:
    return SourceRecord(portal, stream, key, data,
                        landing_uri=LANDING.format(portal=portal, stream=stream),
                        run_id="run-test", **kw)


STINET_ORG = {
    "id": 1017, "name": "Viện Sinh học Nhiệt đới", "english_name": "Institute of Tropical Biology",
    "abbreviation": "ITB", "org_type": "Viện nghiên cứu", "tax_code": "0301456789",
    "registration": "A-0457", "founded_date": "12/05/1979",
    "address": "9/621 Xa lộ Hà Nội, Phường Linh Trung, TP. Thủ Đức, TP.HCM",
    "phone": "028 3897 8390", "email": "itb@itb.ac.vn", "website": "https://itb.ac.vn",
    "director": "PGS.TS. Hoàng Nghĩa Sơn", "fields": ["Khoa học tự nhiên"],
    "created": "2018-04-02 08:15:00", "modified": "2026-03-01 10:00:00", "revision": 3,
}
STINET_EXPERT = {
    "id": 88, "full_name": "PGS.TS. Nguyễn Văn An", "degree": "Tiến sĩ", "birth_year": 1975,
    "gender": "Nam", "organization": {"id": 1017, "name": "Viện Sinh học Nhiệt đới"},
    "position": "Trưởng phòng", "fields": ["Sinh học", "Công nghệ sinh học"],
    "specialization": "Vi sinh vật rừng ngập mặn; liên hệ an.nv@itb.ac.vn hoặc 0912 345 678",
    "email": "An.NV@itb.ac.vn", "phone": "0912 345 678", "publications": 42,
    "created": "2026-03-01 09:00:00", "modified": "2026-03-01 09:00:00", "revision": 1,
}
STINET_TASK = {
    "id": 512, "code": "27/2021/HĐ-QPTKHCN",
    "title": "Nghiên cứu ứng dụng học sâu trong chẩn đoán bệnh lúa",
    "principal_investigator": "TS. Lê Hoàng Thái",
    "host_organization": {"id": 1017, "name": "Viện Sinh học Nhiệt đới"},
    "field": "Khoa học kỹ thuật và công nghệ", "budget": "1,5 tỷ đồng",
    "start_date": "01/06/2021", "end_date": "31/02/2023", "status": "Đã nghiệm thu",
    "results": "Bộ dữ liệu 20.000 ảnh", "document_ids": ["oai:stinet.gov.vn:doc/00012345"],
    "created": "2021-05-20 08:00:00", "modified": "2026-03-01 11:30:00", "revision": 5,
}
STINET_DOC = {
    "header": {"identifier": "oai:stinet.gov.vn:doc/00012345", "datestamp": "2026-03-01T03:12:40Z",
               "setSpec": ["inst:hcmus", "type:thesis"]},
    "metadata": {
        "dc:title": ["Nghiên cứu ứng dụng học sâu trong chẩn đoán bệnh lúa"],
        "dc:creator": ["Trần Thị Bích Ngọc"], "dc:subject": ["Khoa học máy tính và thông tin"],
        "dc:publisher": ["Trường Đại học Khoa học Tự nhiên, ĐHQG-HCM"],
        "dc:contributor": ["PGS.TS. Lê Hoàng Thái"], "dc:date": ["2025-11-20"],
        "dc:type": ["Luận văn thạc sĩ"], "dc:format": ["application/pdf"],
        "dc:identifier": ["https://stinet.gov.vn/tai-lieu/12345", "ISBN 978-604-73-1234-4"],
        "dc:language": ["vi"], "dc:relation": ["Nhiệm vụ: 27/2021/HĐ-QPTKHCN"],
        "dc:rights": ["Toàn văn"],
    },
}
TECHPORT_TECH = {
    "ma_cong_nghe": 104211, "ten_cong_nghe": "Hệ thống tưới nhỏ giọt điều khiển qua IoT",
    "loai": "Công nghệ", "linh_vuc": "Nông nghiệp",
    "mo_ta": "Giải pháp tưới tiết kiệm n&#432;ớc. Liên hệ: 0903 123 456",
    "xuat_xu": "Việt Nam", "muc_do_phat_trien": "Thương mại hóa",
    "hinh_thuc_chuyen_giao": ["Chuyển giao trọn gói"], "gia_tham_khao": "450 triệu VNĐ",
    "ma_nha_cung_cap": 20417, "ten_nha_cung_cap": "Cty TNHH Nông nghiệp Công nghệ cao Minh Phát",
    "ngay_dang": "14/02/2022", "ngay_cap_nhat": "01/03/2026 09:40", "phien_ban": 4, "luot_xem": 318,
}
TECHPORT_DEMAND = {
    "ma_nhu_cau": 3301, "tieu_de": "Tìm công nghệ xử lý nước thải dệt nhuộm",
    "mo_ta": "Công suất 500 m3/ngày", "linh_vuc": "Môi trường", "ngan_sach_du_kien": "2 tỷ đồng",
    "don_vi_yeu_cau": "Công ty CP Dệt may Gia Định", "nguoi_lien_he": "Ông Phạm Quốc Bảo",
    "email_lien_he": "bao.pq@detmaygiadinh.vn", "dien_thoai_lien_he": "0168 123 4567",
    "han_chot": "30/06/2026", "tinh_trang": "Đang tìm kiếm", "ngay_dang": "01/03/2026",
    "ngay_cap_nhat": "01/03/2026 10:05", "phien_ban": 1,
}
TECHPORT_CONSULTANT_EXPERT = {
    "ma_tu_van": 77, "loai": "Chuyên gia", "ten": "ThS. Đỗ Thị Mai", "to_chuc_cong_tac": "CESTI",
    "ma_so_thue": None, "linh_vuc_tu_van": ["Công nghệ thông tin"],
    "dich_vu": ["Thẩm định giá công nghệ"], "email": "mai.dt@gmail.com", "dien_thoai": "0987654321",
    "dia_chi": "79 Trương Định, Phường Bến Thành, Quận 1, TP.HCM",
    "ngay_cap_nhat": "02/03/2026 08:00", "phien_ban": 2,
}
HOIP_PROJECT = {
    "id": "prj_0001877", "name": "EduAI - trợ lý học tập",
    "company_name": "CÔNG TY TNHH EDUAI VIỆT NAM",
    "company_tax_id": "0312687878", "description": "Nền tảng học tập cá nhân hóa",
    "stage": "incubation", "fields": ["edtech", "ai"],
    "founders": [{"name": "ThS. Lê Văn Anh", "role": "CEO", "email": "Anh.LV@eduai.vn",
                  "phone": "+84 903 123 456"}],
    "incubator": {"id": "org_0000017", "name": "SIHUB"}, "program_id": "prg_0000003",
    "requested_funding": "80 triệu", "approved_support_vnd": 80000000, "status": "active",
    "founded_date": "2024-13-45", "website": "https://eduai.vn",
    "created_at": "2025-01-01T08:00:00+07:00", "updated_at": "2026-03-02T10:00:00+07:00",
    "version": 3,
}
HOIP_ORG = {
    "id": "org_0000017", "name": "Trung tâm Khởi nghiệp Đổi mới sáng tạo TP.HCM (SIHUB)",
    "name_en": "Saigon Innovation Hub", "kind": "incubator", "tax_id": "0316118529",
    "address": {"street": "123 Trương Định", "ward": "phường Xuân Hòa", "district": None,
                "city": "TP. Hồ Chí Minh",
                "full": "123 Trương Định, phường Xuân Hòa, TP. Hồ Chí Minh"},
    "website": "https://sihub.gov.vn", "email": "info@sihub.gov.vn", "phone": "028 3932 0016",
    "description": "...", "founded_year": 2017,
    "created_at": "2019-06-01T08:00:00+07:00", "updated_at": "2026-03-01T10:00:00+07:00",
    "version": 4,
}


@pytest.fixture
def pii_key() -> bytes:
    return b"test-pii-key"


SAMPLES: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "stinet_org": ("stinet", "organizations", "1017", STINET_ORG),
    "stinet_expert": ("stinet", "experts", "88", STINET_EXPERT),
    "stinet_task": ("stinet", "tasks", "512", STINET_TASK),
    "stinet_doc": ("stinet", "documents", "oai:stinet.gov.vn:doc/00012345", STINET_DOC),
    "techport_tech": ("techport", "cong-nghe", "104211", TECHPORT_TECH),
    "techport_demand": ("techport", "nhu-cau", "3301", TECHPORT_DEMAND),
    "techport_expert": ("techport", "tu-van", "77", TECHPORT_CONSULTANT_EXPERT),
    "hoip_project": ("hoip", "startup-projects", "prj_0001877", HOIP_PROJECT),
    "hoip_org": ("hoip", "organizations", "org_0000017", HOIP_ORG),
}


@pytest.fixture
def sample() -> Any:
    """``sample(name, **overrides)`` -> a SourceRecord of one of SAMPLES (data copied)."""
    import copy

    def make(name: str, deleted: bool = False, **overrides: Any) -> SourceRecord:
        portal, stream, key, data = SAMPLES[name]
        return source(portal, stream, key, {**copy.deepcopy(data), **overrides}, deleted=deleted)

    return make


@pytest.fixture
def all_samples(sample: Any) -> list[SourceRecord]:
    return [sample(name) for name in SAMPLES]
