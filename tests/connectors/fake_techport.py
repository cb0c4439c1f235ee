"""An in-memory Techport (the contract's technologies endpoint) served by a ScriptedServer.

Small and fully controllable, so connector behaviour (restarts, repeats, resume, reconciliation)
can be tested page by page; the real simulator is exercised by the integration tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from scripted_http import Reply, ScriptedServer, Seen

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
FORMAT = "%d/%m/%Y %H:%M"
PATH = "/api/v2/cong-nghe"
START = datetime(2026, 3, 1, 8, 0, tzinfo=LOCAL)
FIELDS = ["Nông nghiệp", "Công nghệ thông tin", "Y dược", "Môi trường"]


def technology(ma: int, when: datetime, version: int = 1) -> dict:
    return {
        "ma_cong_nghe": ma,
        "ten_cong_nghe": f"Hệ thống tưới nhỏ giọt điều khiển qua IoT số {ma}",
        "loai": "Công nghệ",
        "linh_vuc": FIELDS[ma % len(FIELDS)],
        "gia_tham_khao": "450 triệu VNĐ",
        "ma_nha_cung_cap": 20417,
        "ten_nha_cung_cap": "Cty TNHH Nông nghiệp Công nghệ cao Minh Phát",
        "ngay_cap_nhat": when.strftime(FORMAT),
        "phien_ban": version,
    }


class FakeTechport:
    def __init__(self, server: ScriptedServer, count: int = 45, step_minutes: int = 2) -> None:
        self.server = server
        self.records = {
            100000 + i: technology(100000 + i, START + timedelta(minutes=step_minutes * i))
            for i in range(count)
        }
        self.before_listing: Callable[[Seen], None] | None = None
        self.repeat_pages: set[int] = set()  # page numbers answered with the previous page
        self.hidden: set[int] = set()  # ids missing from listings only (detail still answers)
        self._last_page: Reply | None = None
        server.route(PATH, self.listing)
        server.fallback = self.detail

    # -- changes ------------------------------------------------------------------------------
    def update(self, ma: int, when: datetime) -> None:
        old = self.records[ma]
        self.records[ma] = {
            **old,
            "ngay_cap_nhat": when.strftime(FORMAT),
            "phien_ban": old["phien_ban"] + 1,
        }

    def create(self, ma: int, when: datetime) -> None:
        self.records[ma] = technology(ma, when)

    def delete(self, ma: int) -> None:
        del self.records[ma]

    def truth(self) -> dict[str, int]:
        return {str(k): v["phien_ban"] for k, v in self.records.items()}

    # -- serving ------------------------------------------------------------------------------
    def listing(self, seen: Seen) -> Reply:
        if self.before_listing is not None:
            self.before_listing(seen)
        page = int(seen.param("trang") or 1)
        size = int(seen.param("so_dong") or 20)
        rows = sorted(
            (r for r in self.records.values() if r["ma_cong_nghe"] not in self.hidden),
            key=lambda r: (self._when(r), r["ma_cong_nghe"]),
        )
        since = seen.param("updated_from")
        if since:
            floor = datetime.strptime(since, FORMAT).replace(tzinfo=LOCAL)
            rows = [r for r in rows if self._when(r) >= floor]
        if page in self.repeat_pages and self._last_page is not None:
            self.repeat_pages.discard(page)
            return self._last_page
        body = {
            "trang_thai": "thanh_cong",
            "du_lieu": rows[(page - 1) * size : page * size],
            "phan_trang": {
                "trang": page,
                "so_dong": size,
                "tong_so": len(rows),
                "tong_so_trang": math.ceil(len(rows) / size),
            },
        }
        self._last_page = Reply(200, body)
        return self._last_page

    def detail(self, seen: Seen) -> Reply:
        ma = seen.path.rsplit("/", 1)[-1]
        if seen.path.startswith(PATH + "/") and ma.isdigit() and int(ma) in self.records:
            return Reply(200, {"trang_thai": "thanh_cong", "du_lieu": self.records[int(ma)]})
        return Reply(
            404, {"trang_thai": "loi", "ma_loi": "KHONG_TIM_THAY", "thong_bao": "Không tìm thấy"}
        )

    @staticmethod
    def _when(record: dict) -> datetime:
        return datetime.strptime(record["ngay_cap_nhat"], FORMAT).replace(tzinfo=LOCAL)
