"""Techport simulator: REST JSON with Vietnamese field names (contract: docs/portals/techport.md).

Style the connector toolkit meets here: API-key header, page-number pagination with totals,
``updated_from`` as ``dd/mm/yyyy HH:MM`` (Asia/Ho_Chi_Minh, minute precision, inclusive),
a per-key token-bucket rate limit answered with 429 + Retry-After, and no delete signal.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from simulators import vocab
from simulators.noise import messy, money_text, phone_text
from simulators.portal import Portal, Request, Resource, Response, json_response, numbered
from simulators.rand import rng, stable_hash, unit
from simulators.timefmt import date_dmy, fmt_techport, parse_techport, to_dt
from simulators.world import Style, org_display, person_display

__all__ = ["API_KEYS", "TechportPortal"]

API_KEYS = frozenset({"dev-techport-key"})
_BASE = "/api/v2/"
_IDS = {
    "cong-nghe": 100_000,
    "nhu-cau": 300_000,
    "nha-cung-cap": 20_000,
    "tu-van": 50_000,
    "tim-doi-tac": 70_000,
}
_ID_FIELD = {
    "cong-nghe": "ma_cong_nghe",
    "nhu-cau": "ma_nhu_cau",
    "nha-cung-cap": "ma_nha_cung_cap",
    "tu-van": "ma_tu_van",
    "tim-doi-tac": "ma_du_an",
}
_START = {
    "cong-nghe": 2016,
    "nhu-cau": 2021,
    "nha-cung-cap": 2016,
    "tu-van": 2018,
    "tim-doi-tac": 2019,
}
_STYLE = Style(tax=(70, 8, 14, 8), hard_name=0.08, form_variant=0.6, noise=1.2, new_address=0.6)
_TECH_FIELDS = (
    "Công nghệ thông tin",
    "Nông nghiệp",
    "Y dược",
    "Môi trường",
    "Cơ khí – Tự động hóa",
    "Năng lượng",
    "Vật liệu",
    "Chế biến thực phẩm",
    "Điện – Điện tử",
    "Xây dựng",
)
_TECH_HEADS = (
    "Hệ thống",
    "Công nghệ",
    "Quy trình",
    "Giải pháp",
    "Dây chuyền",
    "Thiết bị",
    "Máy",
    "Phần mềm",
)
_TRANSFER = ("Chuyển giao trọn gói", "Li-xăng", "Đào tạo, hướng dẫn", "Bán thiết bị")
_SERVICES = (
    "Tư vấn chuyển giao công nghệ",
    "Thẩm định giá công nghệ",
    "Sở hữu trí tuệ",
    "Tư vấn đổi mới sáng tạo",
    "Đánh giá trình độ công nghệ",
    "Tư vấn tài chính dự án",
)
_KIND_TYPE = {
    "company": "Doanh nghiệp",
    "institute": "Viện nghiên cứu",
    "university": "Trường đại học",
    "center": "Trung tâm",
}
_LIST_PARAMS = {"trang", "so_dong", "updated_from"}


# which served field each defect breaks (listed in the truth)
_DEFECT_FIELDS = {
    "cong-nghe": {"missing_title": "ten_cong_nghe", "impossible_date": "ngay_dang",
                  "implausible_price": "gia_tham_khao"},
    "nhu-cau": {"missing_title": "tieu_de", "impossible_date": "han_chot"},
    "tim-doi-tac": {"missing_title": "ten_du_an"},
}


def _year_ts(year: int) -> int:
    return int(to_dt(0).replace(year=year, month=1, day=1, hour=0).timestamp())


class _Bucket:
    """Token bucket per API key (knob ``rate_limit``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, key: str, per_second: float, burst: int) -> float:
        """0 when allowed, else the seconds to wait."""
        with self._lock:
            now = time.monotonic()
            tokens, last = self._state.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * per_second)
            if tokens >= 1:
                self._state[key] = (tokens - 1, now)
                return 0.0
            self._state[key] = (tokens, now)
            return (1 - tokens) / per_second


class TechportPortal(Portal):
    name = "techport"
    default_port = 8102
    granularity = 60

    def build_resources(self) -> None:
        self._bucket = _Bucket()
        w = self.world
        self.suppliers = w.membership(
            "techport/nha-cung-cap",
            self.sizes["nha-cung-cap"],
            {"company": 0.82, "institute": 0.06, "university": 0.04, "center": 0.08},
        )
        self.consultants = w.membership(
            "techport/tu-van",
            self.sizes["tu-van"],
            {"person": 0.6, "company": 0.2, "center": 0.14, "institute": 0.06},
        )
        self._n_suppliers = self.sizes["nha-cung-cap"]
        builders = {
            "cong-nghe": self._technology,
            "nhu-cau": self._demand,
            "nha-cung-cap": self._supplier,
            "tu-van": self._consultant,
            "tim-doi-tac": self._partner,
        }
        defects = {
            "cong-nghe": ("missing_title", "impossible_date", "implausible_price"),
            "nhu-cau": ("impossible_date", "missing_title"),
            "tim-doi-tac": ("missing_title",),
        }
        for name, build in builders.items():
            state = self.new_state(name, start_ts=_year_ts(_START[name]))
            base = _IDS[name]
            res = Resource(
                name=name,
                state=state,
                key=numbered(base),
                stamp=fmt_techport,
                build=build,
            )
            if name in defects:
                res.defect = self.defect_picker(name, 0.006, defects[name])
                res.defect_fields = _DEFECT_FIELDS[name]
            self.resources[name] = res
        sup, con = self.resources["nha-cung-cap"], self.resources["tu-van"]
        sup.entity = lambda i: self.world.orgs[self.suppliers.ids[i]].wid
        con.entity = self._consultant_entity
        sup.on_create = lambda i: self.suppliers.take(rng(self.seed, "techport", "new-supplier", i))
        con.on_create = lambda i: self.consultants.take(
            rng(self.seed, "techport", "new-consultant", i)
        )
        self._salt = stable_hash(self.seed, "techport", "equipment")

    def _consultant_entity(self, i: int) -> str:
        member = self.consultants.ids[i]
        return self.world.persons[-1 - member].wid if member < 0 else self.world.orgs[member].wid

    # -- contract ------------------------------------------------------------------------------
    def routes(self) -> list[tuple[str, str]]:
        out = []
        for name in _IDS:
            out += [("GET", f"{_BASE}{name}"), ("GET", f"{_BASE}{name}/{{ma}}")]
        return out

    def error(self, status: int, message: str) -> Response:
        code = {
            400: "SAI_THAM_SO",
            401: "KHONG_XAC_THUC",
            404: "KHONG_TIM_THAY",
            405: "PHUONG_THUC_KHONG_HO_TRO",
            429: "VUOT_GIOI_HAN",
        }.get(status, "LOI_HE_THONG")
        return json_response({"trang_thai": "loi", "ma_loi": code, "thong_bao": message}, status)

    def is_paging(self, req: Request) -> bool:
        return req.path.rstrip("/").removeprefix(_BASE) in _IDS and (
            req.arg("trang") or "1"
        ) not in ("", "1")

    def dispatch(self, req: Request) -> Response:
        if not req.path.startswith(_BASE):
            return self.error(404, f"Không tìm thấy đường dẫn {req.path}")
        parts = req.path.removeprefix(_BASE).strip("/").split("/")
        if parts[0] not in _IDS or len(parts) > 2:
            return self.error(404, f"Không tìm thấy đường dẫn {req.path}")
        if req.method not in ("GET", "HEAD"):
            return self.error(405, f"Phương thức {req.method} không được hỗ trợ")
        key = req.headers.get("X-API-Key")
        if key not in API_KEYS:
            return self.error(401, "Thiếu hoặc sai khóa API (X-API-Key)")
        knob = self.faults.knobs["rate_limit"]
        wait = self._bucket.take(key, float(knob["per_second"]), int(knob["burst"]))
        if wait > 0:
            resp = self.error(
                429, f"Vượt quá số lượt truy cập cho phép, thử lại sau {math.ceil(wait)} giây"
            )
            resp.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return resp
        res = self.resources[parts[0]]
        if len(parts) == 2:
            return self._detail(res, parts[1])
        return self._list(req, res)

    def _detail(self, res: Resource, raw: str) -> Response:
        with self.lock:
            i = int(raw) - _IDS[res.name] if raw.isdigit() else -1
            if not res.state.is_live(i):
                return self.error(404, f"Không tìm thấy bản ghi {raw}")
            return json_response({"trang_thai": "thanh_cong", "du_lieu": res.build(i)})

    def _params(self, req: Request, res: Resource) -> tuple[int, int, int | None, str | None]:
        allowed = _LIST_PARAMS | ({"loai"} if res.name == "cong-nghe" else set())
        unknown = sorted(set(req.query) - allowed)
        if unknown:
            raise ValueError(f"Tham số không hợp lệ: {', '.join(unknown)}")
        if any(len(v) > 1 for v in req.query.values()):
            raise ValueError("Mỗi tham số chỉ được truyền một lần")
        page, size = req.arg("trang") or "1", req.arg("so_dong") or "20"
        if not page.isdigit() or int(page) < 1:
            raise ValueError("trang phải là số nguyên >= 1")
        if not size.isdigit() or not 1 <= int(size) <= 200:
            raise ValueError("so_dong phải nằm trong khoảng 1..200")
        since = None
        if req.arg("updated_from") is not None:
            try:
                since = parse_techport(req.arg("updated_from") or "")
            except ValueError:
                raise ValueError("updated_from phải có dạng dd/mm/yyyy HH:MM") from None
        loai = req.arg("loai")
        if loai is not None and loai not in ("cong-nghe", "thiet-bi"):
            raise ValueError("loai phải là cong-nghe hoặc thiet-bi")
        return int(page), int(size), since, loai

    def _list(self, req: Request, res: Resource) -> Response:
        try:
            page, size, since, loai = self._params(req, res)
        except ValueError as exc:
            return self.error(400, str(exc))
        with self.lock:
            lo = res.state.position(since)
            pred = (
                None if loai is None else (lambda k: self._is_equipment(k) == (loai == "thiet-bi"))
            )
            seq, start = self.listing(res, lo, pred, tag=loai or "")
            total = len(seq) - start
            first = start + (page - 1) * size
            rows = (
                [res.build(k) for k in seq[first : min(first + size, len(seq))]]
                if first < len(seq)
                else []
            )
        body = {
            "trang_thai": "thanh_cong",
            "du_lieu": rows,
            "phan_trang": {
                "trang": page,
                "so_dong": size,
                "tong_so": total,
                "tong_so_trang": math.ceil(total / size),
            },
        }
        resp = json_response(body)
        resp.listing = f"{req.path}|{req.arg('updated_from')}|{size}|{loai}"
        resp.paging = page > 1
        return resp

    def head_insert(self, req: Request, records: int) -> list[str]:
        name = req.path.removeprefix(_BASE).strip("/")
        res = self.resources[name]
        with self.lock:
            raw = req.arg("updated_from")
            try:
                ts = parse_techport(raw) if raw else None
            except ValueError:
                ts = None
            st = res.state
            if ts is None:
                ts = st.updated[st.order[0]] if len(st.order) else self.clock
            return [res.key(self.create(res, self.floor(ts))) for _ in range(records)]

    # -- records -------------------------------------------------------------------------------
    def _common(self, res: Resource, i: int) -> dict[str, Any]:
        st = res.state
        return {"ngay_cap_nhat": fmt_techport(st.updated[i]), "phien_ban": st.version[i]}

    def _is_equipment(self, i: int) -> bool:
        return unit(self._salt, i) < 0.3

    def _technology(self, i: int) -> dict[str, Any]:
        res = self.resources["cong-nghe"]
        st, r = res.state, rng(self.seed, "techport", "cong-nghe", i)
        rv = rng(self.seed, "techport", "cong-nghe", i, st.version[i])
        field = r.choice(_TECH_FIELDS)
        equipment = self._is_equipment(i)
        head = "Thiết bị" if equipment else r.choice(_TECH_HEADS)
        obj = r.choice(vocab.TOPIC_OBJECTS[r.choice(list(vocab.TOPIC_OBJECTS))])
        title = f"{head} {obj}"
        sup = int(unit(self._salt ^ 0x55, i) * self._n_suppliers)
        sup_org = self.world.orgs[self.suppliers.ids[sup]]
        defect = res.defect(i)
        amount = (
            r.choice((None, 150, 280, 400, 450, 850, 1200, 1500, 2000, 3500))
            if r.random() < 0.9
            else None
        )
        return {
            "ma_cong_nghe": _IDS["cong-nghe"] + i,
            "ten_cong_nghe": "" if defect == "missing_title" else messy(title, r),
            "loai": "Thiết bị" if equipment else "Công nghệ",
            "linh_vuc": field,
            "mo_ta": messy(
                f"{title}. Ứng dụng cho doanh nghiệp & hợp tác xã tại TP.HCM; "
                f"hiệu quả tiết kiệm {rv.randint(10, 60)}% chi phí vận hành.",
                r,
            ),
            "xuat_xu": r.choice(vocab.COUNTRIES),
            "muc_do_phat_trien": rv.choice(
                ("Phòng thí nghiệm", "Thử nghiệm", "Sản xuất thử", "Thương mại hóa")
            ),
            "hinh_thuc_chuyen_giao": sorted(set(r.sample(_TRANSFER, r.randint(1, 2)))),
            # implausible_price: a typo'd unit ("tỷ" for "triệu") that reads as a valid amount
            # of 500,000 billion VND; it normalizes fine and must be caught by the quality gate
            "gia_tham_khao": "500.000 tỷ đồng"
            if defect == "implausible_price"
            else money_text(None if amount is None else amount * 1_000_000, rv),
            "ma_nha_cung_cap": _IDS["nha-cung-cap"] + sup,
            "ten_nha_cung_cap": org_display(sup_org, r, _STYLE, st.created[i], self.world)["name"],
            "ngay_dang": "31/02/2024" if defect == "impossible_date" else date_dmy(st.created[i]),
            **self._common(res, i),
            "luot_xem": rv.randint(5, 5000),
        }

    def _demand(self, i: int) -> dict[str, Any]:
        res = self.resources["nhu-cau"]
        st, r = res.state, rng(self.seed, "techport", "nhu-cau", i)
        rv = rng(self.seed, "techport", "nhu-cau", i, st.version[i])
        obj = r.choice(vocab.TOPIC_OBJECTS[r.choice(list(vocab.TOPIC_OBJECTS))])
        requester = self.world.orgs[r.choice(self.world.by_kind["company"])]
        defect = res.defect(i)
        contact = self.world.persons[r.randrange(len(self.world.persons))]
        budget = r.choice((None, 200, 500, 800, 1000, 1500, 2000))
        return {
            "ma_nhu_cau": _IDS["nhu-cau"] + i,
            "tieu_de": ""
            if defect == "missing_title"
            else messy(f"Cần tìm {r.choice(('công nghệ', 'giải pháp', 'thiết bị'))} {obj}", r),
            "mo_ta": messy(
                f"Doanh nghiệp có nhu cầu đổi mới công nghệ: {obj}. "
                "Ưu tiên chuyển giao trong nước.",
                r,
            ),
            "linh_vuc": r.choice(_TECH_FIELDS),
            "ngan_sach_du_kien": money_text(None if budget is None else budget * 1_000_000, rv),
            "don_vi_yeu_cau": org_display(requester, r, _STYLE, st.created[i], self.world)["name"],
            "nguoi_lien_he": messy(contact.name, r),
            "email_lien_he": contact.email if r.random() < 0.7 else None,
            "dien_thoai_lien_he": phone_text(contact.phone, r) if r.random() < 0.8 else None,
            "han_chot": "30/02/2025"
            if defect == "impossible_date"
            else date_dmy(st.created[i] + 86400 * r.randint(30, 365)),
            "tinh_trang": rv.choice(("Đang tìm kiếm", "Đang tìm kiếm", "Đã kết nối", "Đã đóng")),
            "ngay_dang": date_dmy(st.created[i]),
            **self._common(res, i),
        }

    def _supplier(self, i: int) -> dict[str, Any]:
        res = self.resources["nha-cung-cap"]
        st, r = res.state, rng(self.seed, "techport", "nha-cung-cap", i)
        rv = rng(self.seed, "techport", "nha-cung-cap", i, st.version[i])
        org = self.world.orgs[self.suppliers.ids[i]]
        d = org_display(org, r, _STYLE, st.updated[i], self.world)
        rep = self.world.persons[r.randrange(len(self.world.persons))]
        return {
            "ma_nha_cung_cap": _IDS["nha-cung-cap"] + i,
            "ten_don_vi": d["name"],
            "ten_tieng_anh": d["name_en"],
            "ten_viet_tat": d["abbr"],
            "ma_so_thue": d["tax"],
            "loai_hinh": _KIND_TYPE.get(org.kind, "Khác"),
            "dia_chi": d["address"],
            "dien_thoai": d["phone"],
            "email": d["email"],
            "website": d["website"],
            "nguoi_dai_dien": messy(rep.name, r) if r.random() < 0.7 else None,
            "so_cong_nghe": rv.randint(1, 40),
            "ngay_tham_gia": date_dmy(st.created[i]),
            **self._common(res, i),
        }

    def _consultant(self, i: int) -> dict[str, Any]:
        res = self.resources["tu-van"]
        st, r = res.state, rng(self.seed, "techport", "tu-van", i)
        rv = rng(self.seed, "techport", "tu-van", i, st.version[i])
        member = self.consultants.ids[i]
        services = sorted(set(r.sample(_SERVICES, r.randint(1, 3))))
        fields = sorted(set(r.sample(_TECH_FIELDS, r.randint(1, 3))))
        if member < 0:
            p = person_display(self.world.persons[-1 - member], self.world, r, _STYLE)
            shown = {
                "loai": "Chuyên gia",
                "ten": p["name"],
                "to_chuc_cong_tac": p["affiliation"],
                "ma_so_thue": None,
                "email": p["email"],
                "dien_thoai": p["phone"],
                "dia_chi": None,
            }
        else:
            d = org_display(self.world.orgs[member], r, _STYLE, st.updated[i], self.world)
            shown = {
                "loai": "Tổ chức",
                "ten": d["name"],
                "to_chuc_cong_tac": None,
                "ma_so_thue": d["tax"],
                "email": d["email"],
                "dien_thoai": d["phone"],
                "dia_chi": d["address"],
            }
        return {
            "ma_tu_van": _IDS["tu-van"] + i,
            **shown,
            "linh_vuc_tu_van": fields,
            "dich_vu": services if rv.random() < 0.9 else services[:1],
            **self._common(res, i),
        }

    def _partner(self, i: int) -> dict[str, Any]:
        res = self.resources["tim-doi-tac"]
        st, r = res.state, rng(self.seed, "techport", "tim-doi-tac", i)
        rv = rng(self.seed, "techport", "tim-doi-tac", i, st.version[i])
        obj = r.choice(vocab.TOPIC_OBJECTS[r.choice(list(vocab.TOPIC_OBJECTS))])
        org = self.world.orgs[r.choice(self.world.by_kind["company"])]
        return {
            "ma_du_an": _IDS["tim-doi-tac"] + i,
            "ten_du_an": "" if res.defect(i) == "missing_title" else messy(f"Dự án {obj}", r),
            "mo_ta": messy(f"Tìm đối tác triển khai {obj} tại TP.HCM và các tỉnh lân cận.", r),
            "linh_vuc": r.choice(_TECH_FIELDS),
            "hinh_thuc_hop_tac": sorted(
                set(
                    r.sample(
                        (
                            "Góp vốn",
                            "Chuyển giao công nghệ",
                            "Hợp tác nghiên cứu",
                            "Phân phối sản phẩm",
                        ),
                        r.randint(1, 2),
                    )
                )
            ),
            "von_can_goi": money_text(r.choice((500, 1000, 1500, 2000, 5000)) * 1_000_000, rv),
            "don_vi_de_xuat": org_display(org, r, _STYLE, st.created[i], self.world)["name"],
            "ngay_dang": date_dmy(st.created[i]),
            "han_chot": date_dmy(st.created[i] + 86400 * r.randint(60, 400)),
            **self._common(res, i),
        }
