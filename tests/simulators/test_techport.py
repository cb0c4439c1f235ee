"""Techport contract: API key, page numbers with totals, updated_from, rate limit, no deletes."""

from __future__ import annotations

import pytest
import requests

from simulators.harvest import Reader, truth

pytestmark = pytest.mark.integration
RESOURCES = ["cong-nghe", "nhu-cau", "nha-cung-cap", "tu-van", "tim-doi-tac"]


@pytest.mark.parametrize(
    "headers", [{}, {"X-API-Key": "sai-khoa"}, {"Authorization": "Bearer dev-techport-key"}]
)
def test_missing_or_wrong_key_is_401(techport, headers: dict[str, str]) -> None:
    resp = requests.get(f"{techport.url}/api/v2/cong-nghe", headers=headers, timeout=10)
    assert resp.status_code == 401
    assert resp.json() == {
        "trang_thai": "loi",
        "ma_loi": "KHONG_XAC_THUC",
        "thong_bao": "Thiếu hoặc sai khóa API (X-API-Key)",
    }


def test_key_in_query_string_is_not_accepted(techport) -> None:
    resp = requests.get(
        f"{techport.url}/api/v2/cong-nghe", params={"X-API-Key": "dev-techport-key"}, timeout=10
    )
    assert resp.status_code == 401


@pytest.mark.parametrize(
    "params",
    [
        {"trang": "0"},
        {"trang": "một"},
        {"so_dong": "201"},
        {"so_dong": "0"},
        {"updated_from": "2026-03-01T00:00"},
        {"updated_from": "31/02/2026 10:00"},
        {"loai": "may-moc"},
        {"page": "2"},
    ],
)
def test_bad_parameters_are_400(techport, techport_session, params: dict[str, str]) -> None:
    resp = techport_session.get(f"{techport.url}/api/v2/cong-nghe", params=params, timeout=10)
    assert resp.status_code == 400
    assert resp.json()["ma_loi"] == "SAI_THAM_SO"


def test_method_other_than_get_is_405(techport, techport_session) -> None:
    resp = techport_session.post(f"{techport.url}/api/v2/nhu-cau", timeout=10)
    assert resp.status_code == 405 and resp.json()["ma_loi"] == "PHUONG_THUC_KHONG_HO_TRO"


@pytest.mark.parametrize("resource", RESOURCES)
def test_full_read_equals_truth_in_documented_order(techport, resource: str) -> None:
    expected = {t["key"]: t["updated"] for t in truth(techport.url, resource) if not t["deleted"]}
    got = [(s.key, s.stamp) for s in Reader(techport.url, "techport", page_size=13).read(resource)]
    assert dict(got) == expected and len(got) == len(expected)

    def order(item: tuple[str, str]) -> tuple[str, int]:
        d, t = item[1].split(" ")
        dd, mm, yyyy = d.split("/")
        return f"{yyyy}{mm}{dd}{t}", int(item[0])

    assert got == sorted(got, key=order)


def test_totals_and_pages(techport, techport_session) -> None:
    total = len(truth(techport.url, "tu-van"))
    body = techport_session.get(
        f"{techport.url}/api/v2/tu-van", params={"trang": 2, "so_dong": 9}, timeout=10
    ).json()
    assert body["trang_thai"] == "thanh_cong" and len(body["du_lieu"]) == 9
    assert body["phan_trang"] == {
        "trang": 2,
        "so_dong": 9,
        "tong_so": total,
        "tong_so_trang": -(-total // 9),
    }
    past = techport_session.get(
        f"{techport.url}/api/v2/tu-van", params={"trang": 999}, timeout=10
    ).json()
    assert past["du_lieu"] == [] and past["phan_trang"]["tong_so"] == total


def test_loai_filter_splits_technologies_and_equipment(techport, techport_session) -> None:
    counts = {}
    for loai, label in (("cong-nghe", "Công nghệ"), ("thiet-bi", "Thiết bị")):
        body = techport_session.get(
            f"{techport.url}/api/v2/cong-nghe", params={"loai": loai, "so_dong": 200}, timeout=10
        ).json()
        assert {row["loai"] for row in body["du_lieu"]} == {label}
        counts[loai] = body["phan_trang"]["tong_so"]
    assert sum(counts.values()) == len(truth(techport.url, "cong-nghe"))


def test_rate_limit_answers_429_with_retry_after(start_sim, techport_session) -> None:
    server = start_sim("techport", faults={"rate_limit": {"per_second": 1, "burst": 3}})
    statuses = [techport_session.get(f"{server.url}/api/v2/nhu-cau", timeout=10) for _ in range(6)]
    codes = [r.status_code for r in statuses]
    assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
    limited = next(r for r in statuses if r.status_code == 429)
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["ma_loi"] == "VUOT_GIOI_HAN"


def test_updated_from_sees_the_step_and_deletions_vanish(techport, techport_session) -> None:
    step = requests.post(f"{techport.url}/_admin/advance", timeout=30).json()["steps"][0][
        "resources"
    ]["nha-cung-cap"]
    rows = {
        s.key: s.stamp
        for s in Reader(techport.url, "techport").read("nha-cung-cap", "02/03/2026 08:30")
    }
    assert set(step["created"] + step["updated"]) <= set(rows)
    for key in step["deleted"]:
        assert key not in rows
        assert (
            techport_session.get(
                f"{techport.url}/api/v2/nha-cung-cap/{key}", timeout=10
            ).status_code
            == 404
        )
    tied = [k for k in step["tied"]]
    assert all(rows[k] == step["tie_stamp"] for k in tied)


def test_detail_matches_listing(techport, techport_session) -> None:
    first = next(iter(Reader(techport.url, "techport").read("cong-nghe")))
    body = techport_session.get(f"{techport.url}/api/v2/cong-nghe/{first.key}", timeout=10).json()
    assert body == {"trang_thai": "thanh_cong", "du_lieu": first.record}


def test_broken_listings_are_in_truth(techport) -> None:
    broken = {t["key"]: t["defect"] for t in truth(techport.url, "cong-nghe") if t["defect"]}
    rows = {s.key: s.record for s in Reader(techport.url, "techport").read("cong-nghe")}
    assert set(broken.values()) == {"missing_title", "impossible_date", "implausible_price"}
    for key, defect in broken.items():
        if defect == "missing_title":
            assert rows[key]["ten_cong_nghe"] == ""
        elif defect == "implausible_price":
            assert rows[key]["gia_tham_khao"] == "500.000 tỷ đồng"
        else:
            assert rows[key]["ngay_dang"] == "31/02/2024"
