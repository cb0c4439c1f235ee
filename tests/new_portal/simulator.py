"""SciPort's tiny simulator, on the simulators' ``Portal`` base: deterministic records per
(seed, index, version), change steps and targeted changes (``/_admin/change``), the ground
truth (``/_admin/truth/<resource>``), faults and stats all come from the base."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from simulators.portal import Portal, Request, Resource, Response, json_response, prefixed
from simulators.timefmt import EPOCH_NOW, fmt_oai
from tests.new_portal import BROKEN_LAB, DEV_KEY, REVERSED_PROJECT, SPEC

__all__ = ["SciportPortal"]

_PREFIX = {"labs": "LAB", "projects": "PRJ"}


class SciportPortal(Portal):
    """``GET /v1/<labs|projects>``: pages of records sorted by (``changed``, id), tombstones
    (``deleted: true``) included, filtered by ``changed_since`` (inclusive, UTC)."""

    name = SPEC.name
    default_port = SPEC.default_port

    def build_resources(self) -> None:
        builders = {"labs": (self._lab, BROKEN_LAB, "missing_name"),
                    "projects": (self._project, REVERSED_PROJECT, "reversed_dates")}
        for name, (build, broken, kind) in builders.items():
            self.resources[name] = Resource(
                name=name,
                state=self.new_state(name, start_ts=EPOCH_NOW - 200 * 86400,
                                     include_deleted=True),
                key=prefixed(_PREFIX[name]),
                stamp=fmt_oai,
                build=build,
                defect=lambda i, broken=broken, kind=kind: kind if i == broken else None,
            )

    def _head(self, resource: str, i: int) -> dict[str, Any]:
        st = self.resources[resource].state
        head: dict[str, Any] = {"id": self.resources[resource].key(i),
                                "changed": fmt_oai(st.updated[i]), "version": st.version[i]}
        if st.deleted[i]:
            head["deleted"] = True
        return head

    def _lab(self, i: int) -> dict[str, Any]:
        head = self._head("labs", i)
        if head.get("deleted"):
            return head
        return {**head, "name": "" if i == BROKEN_LAB else f"Phòng thí nghiệm Vật liệu số {i}",
                "kind": "laboratory", "fields": ["Toán học"],
                "address": f"{i + 1} Nguyễn Văn Cừ, Phường Chợ Quán, TP. Hồ Chí Minh"}

    def _project(self, i: int) -> dict[str, Any]:
        head = self._head("projects", i)
        if head.get("deleted"):
            return head
        lab = i % self.sizes["labs"]
        version = head["version"]
        return {**head, "title": f"Nghiên cứu vật liệu nano, đợt {i} (bản {version})",
                "lab_id": self.resources["labs"].key(lab),
                "lab_name": f"Phòng thí nghiệm Vật liệu số {lab}",
                "fields": ["Toán học"], "budget": f"{1 + i % 4} tỷ đồng",
                "start": "2025-01-15",
                "end": "2024-06-30" if i == REVERSED_PROJECT else "2027-12-31",
                "status": "running"}

    def routes(self) -> list[tuple[str, str]]:
        return [("GET", "/v1/labs"), ("GET", "/v1/projects")]

    def error(self, status: int, message: str) -> Response:
        return json_response({"error": message}, status)

    def dispatch(self, req: Request) -> Response:
        resource = req.path.removeprefix("/v1/").strip("/")
        if not req.path.startswith("/v1/") or resource not in self.resources:
            return self.error(404, f"no such path {req.path}")
        if req.headers.get("X-API-Key") != DEV_KEY:
            return self.error(401, "missing or wrong X-API-Key")
        try:
            page, size = int(req.arg("page") or 1), int(req.arg("per_page") or 50)
            since = req.arg("changed_since")
            since_ts = int(datetime.fromisoformat(since).timestamp()) if since else None
        except ValueError as exc:
            return self.error(400, str(exc))
        res = self.resources[resource]
        with self.lock:
            seq, start = self.listing(res, res.state.position(since_ts))
            total = len(seq) - start
            first = start + (page - 1) * size
            rows = [res.build(k) for k in seq[first:first + size]] if first < len(seq) else []
        return json_response({"items": rows, "page": page, "total": total,
                              "pages": max(1, math.ceil(total / size))})
