"""What the three portal simulators share: resources, simulated time, truth and change steps.

Why a base class: the admin surface (truth, advance, faults, stats) and the change model must
be identical on Stinet, Techport and H.OIP, so tests and benchmarks can treat them alike; each
portal subclass only adds its own API style (routes, formats, paging, auth, errors).
"""

from __future__ import annotations

import json
import threading
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from simulators.faults import FaultInjector
from simulators.rand import rng, stable_hash, unit
from simulators.scales import resource_sizes
from simulators.state import ResourceState
from simulators.timefmt import EPOCH_NOW, fmt_iso
from simulators.world import World, get_world

__all__ = [
    "STEP_SECONDS",
    "Portal",
    "Request",
    "Resource",
    "Response",
    "json_response",
    "numbered",
    "prefixed",
]

STEP_SECONDS = 3600
LATE_MAX_SECONDS = 29 * 60  # documented: up to 30 minutes late


@dataclass
class Request:
    """One HTTP request as the portal sees it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes = b""

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Response:
    """One HTTP answer. ``listing``/``paging`` let the fault layer find pages of one listing."""

    status: int = 200
    body: bytes | Iterator[bytes] = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    length: int | None = None
    listing: str | None = None
    paging: bool = False
    cut_connection: bool = False


def json_response(
    obj: Any,
    status: int = 200,
    *,
    content_type: str = "application/json; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> Response:
    body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status=status, body=body, content_type=content_type, headers=headers or {})


@dataclass
class Resource:
    """One listable resource: its state arrays and how to show a record of it.

    ``build(i)`` returns the record as served; ``key(i)`` its portal id as text;
    ``stamp(ts)`` a time as the portal writes its incremental cursor; ``entity(i)`` the world
    id (organizations, startup companies, laboratories and experts only); ``defect(i)`` why the
    record is deliberately broken.
    """

    name: str
    state: ResourceState
    key: Callable[[int], str]
    stamp: Callable[[int], str]
    build: Callable[[int], dict[str, Any]]
    entity: Callable[[int], str | None] | None = None
    defect: Callable[[int], str | None] = lambda i: None
    # defect kind -> the served field it breaks (listed in the truth next to the kind)
    defect_fields: dict[str, str] = field(default_factory=dict)
    on_create: Callable[[int], object] | None = None


def numbered(base: int) -> Callable[[int], str]:
    """Key function of numeric ids ``base + index``."""
    return lambda i: str(base + i)


def prefixed(prefix: str) -> Callable[[int], str]:
    """Key function of fixed-width string ids ``<prefix>_0000042``."""
    return lambda i: f"{prefix}_{i:07d}"


class Portal:
    """Base of the three simulators; subclasses fill ``resources`` and the contract routes."""

    name = ""
    default_port = 0
    granularity = 1

    def __init__(self, seed: int, scale: str) -> None:
        self.seed = seed
        self.scale = scale
        self.world: World = get_world(seed, scale)
        self.sizes = {
            k.split("/", 1)[1]: v
            for k, v in resource_sizes(scale).items()
            if k.startswith(self.name + "/")
        }
        self.lock = threading.RLock()
        self.clock = EPOCH_NOW
        self.step = 0
        self.faults = FaultInjector(seed)
        self.resources: dict[str, Resource] = {}
        self._filters: dict[tuple[str, int, str], tuple[int, Any]] = {}
        self.build_resources()

    # -- to implement --------------------------------------------------------------------------
    def build_resources(self) -> None:
        raise NotImplementedError

    def routes(self) -> list[tuple[str, str]]:
        """Every contract endpoint as (method, path template) — compared with the docs."""
        raise NotImplementedError

    def dispatch(self, req: Request) -> Response:
        raise NotImplementedError

    def error(self, status: int, message: str) -> Response:
        raise NotImplementedError

    def is_paging(self, req: Request) -> bool:
        return False

    def head_insert(self, req: Request, records: int) -> list[str]:
        return []

    def can_expire(self, req: Request) -> bool:
        """Whether the ``expired_token`` fault can apply to this request."""
        return False

    def expire_token(self, req: Request) -> None:
        return None

    def fault_eligible(self, req: Request) -> bool:
        """Whether faults may hit this request (token endpoints are spared)."""
        return True

    def too_many(self, retry_after: str) -> Response:
        resp = self.error(429, "Too many requests")
        resp.headers["Retry-After"] = retry_after
        return resp

    # -- shared helpers ------------------------------------------------------------------------
    def new_state(
        self,
        resource: str,
        *,
        start_ts: int,
        include_deleted: bool = False,
        deleted_share: float = 0.0,
    ) -> ResourceState:
        return ResourceState(
            self.sizes[resource],
            start_ts=start_ts,
            end_ts=EPOCH_NOW - 3600,
            granularity=self.granularity,
            include_deleted=include_deleted,
            salt=stable_hash(self.seed, self.name, resource, "state"),
            deleted_share=deleted_share,
        )

    def defect_picker(
        self, resource: str, share: float, defects: tuple[str, ...]
    ) -> Callable[[int], str | None]:
        """A deterministic ~``share`` of records carry one of ``defects`` (listed in the truth)."""
        salt = stable_hash(self.seed, self.name, resource, "defect")
        n = max(1, self.sizes[resource])
        # every defect kind appears at least once, at any scale
        anchors = {(salt + k * 7919) % n: kind for k, kind in enumerate(defects)}

        def defect(i: int) -> str | None:
            if i in anchors:
                return anchors[i]
            u = unit(salt, i)
            # u < share spreads evenly over the kinds (u / share alone is always below 1)
            return defects[int(u / share * len(defects)) % len(defects)] if u < share else None

        return defect

    def create(self, res: Resource, ts: int) -> int:
        i = res.state.create(ts)
        if res.on_create is not None:
            res.on_create(i)
        self.changed(res, i)
        return i

    def changed(self, res: Resource, i: int) -> None:
        """Hook called after every create, update and delete (H.OIP numbers its change feed)."""

    def close(self) -> None:
        """Stop what the portal runs in the background (H.OIP: its webhook deliveries)."""

    def change_record(self, resource: str, key: str, op: str) -> dict[str, Any]:
        """One targeted change (``update`` or ``delete``) of one live record, stamped at the
        simulated clock; for tests that follow a single change end to end."""
        res = self.resources.get(resource)
        if res is None:
            raise ValueError(f"unknown resource {resource!r}; valid: {sorted(self.resources)}")
        if op not in ("update", "delete"):
            raise ValueError("op must be 'update' or 'delete'")
        with self.lock:
            st = res.state
            i = next((k for k in range(len(st)) if res.key(k) == key), -1)
            if not st.is_live(i):
                raise ValueError(f"no live {resource} record {key!r}")
            ts = max(self.floor(self.clock), st.updated[i] + self.granularity)
            if op == "update":
                st.touch(i, ts)
            else:
                st.delete(i, ts)
            self.changed(res, i)
            return {"resource": resource, "key": key, "op": op, "version": st.version[i],
                    "updated": res.stamp(st.updated[i])}

    def floor(self, ts: int) -> int:
        return ts - ts % self.granularity

    def listing(
        self, res: Resource, lo: int, pred: Callable[[int], bool] | None = None, tag: str = ""
    ) -> tuple[Any, int]:
        """Indices of ``res`` from order position ``lo`` on, filtered by ``pred`` (cached per
        state epoch), and their count. Without ``pred`` the order array itself is returned."""
        st = res.state
        if pred is None:
            return st.order, lo
        key = (res.name, lo, tag)
        hit = self._filters.get(key)
        if hit is not None and hit[0] == st.epoch:
            return hit[1], 0
        picked = array("q", (k for k in st.order[lo:] if pred(k)))
        if len(self._filters) > 64:
            self._filters.clear()
        self._filters[key] = (st.epoch, picked)
        return picked, 0

    def entity_lines(self) -> Iterator[bytes]:
        """NDJSON of the world entities this portal shows (canonical names, tax codes, emails)."""
        with self.lock:
            wids = sorted(
                {
                    w
                    for res in self.resources.values()
                    if res.entity is not None
                    for i in range(len(res.state))
                    if (w := res.entity(i))
                }
            )
        for wid in wids:
            index = int(wid[6:])
            if wid.startswith("W-ORG-"):
                org = self.world.orgs[index]
                line = {
                    "entity_id": wid,
                    "type": "organization",
                    "kind": org.kind,
                    "name": org.name,
                    "name_en": org.name_en,
                    "tax_code": org.tax,
                }
            elif wid.startswith("W-LAB-"):
                lab = self.world.labs[index]
                line = {
                    "entity_id": wid,
                    "type": "laboratory",
                    "name": lab.name,
                    "parent": self.world.orgs[lab.parent].wid,
                    "email": lab.email,
                }
            else:
                person = self.world.persons[index]
                line = {
                    "entity_id": wid,
                    "type": "person",
                    "name": person.name,
                    "title": person.title,
                    "email": person.email,
                    "affiliation": self.world.orgs[person.affiliation].wid,
                }
            yield (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")

    # -- change steps --------------------------------------------------------------------------
    def advance(self, steps: int = 1) -> dict[str, Any]:
        """Move simulated time ``steps`` hours and apply creates, updates and deletes."""
        with self.lock:
            out = [self._advance_once() for _ in range(steps)]
        return {"portal": self.name, "step": self.step, "clock": fmt_iso(self.clock), "steps": out}

    def _advance_once(self) -> dict[str, Any]:
        self.step += 1
        prev, self.clock = self.clock, self.clock + STEP_SECONDS
        r = rng(self.seed, self.name, "advance", self.step)
        changes = {
            name: self._advance_resource(res, r, prev) for name, res in self.resources.items()
        }
        return {"step": self.step, "clock": fmt_iso(self.clock), "resources": changes}

    def _stamp_for(self, r: Any, prev: int, old: int | None) -> tuple[int, str]:
        now = self.floor(self.clock)
        x = r.random()
        if x < 0.2:
            ts, kind = self.floor(prev - r.randint(60, LATE_MAX_SECONDS)), "late"
        elif x < 0.35:
            ts, kind = self.floor(prev + r.randint(1, STEP_SECONDS - 1)), "spread"
        else:
            ts, kind = now, "tie"
        if old is not None and ts <= old:
            ts = old + self.granularity
        return ts, kind

    def _advance_resource(self, res: Resource, r: Any, prev: int) -> dict[str, Any]:
        st = res.state
        live = st.live_count
        n_create, n_update, n_delete = (
            max(2, round(live * 0.004)),
            max(3, round(live * 0.008)),
            max(1, round(live * 0.002)),
        )
        targets: list[int] = []
        seen: set[int] = set()
        tries = 0
        while len(targets) < min(n_update + n_delete, live) and tries < 50 * (n_update + n_delete):
            tries += 1
            i = r.randrange(len(st))
            if i not in seen and st.is_live(i):
                seen.add(i)
                targets.append(i)
        report: dict[str, Any] = {
            "created": [],
            "updated": [],
            "deleted": [],
            "late": [],
            "tied": [],
            "tie_stamp": res.stamp(self.floor(self.clock)),
        }
        for i in targets[:n_update]:
            ts, kind = self._stamp_for(r, prev, st.updated[i])
            st.touch(i, ts)
            self.changed(res, i)
            report["updated"].append(res.key(i))
            self._note(report, kind, res.key(i))
        for _ in range(n_create):
            ts, kind = self._stamp_for(r, prev, None)
            i = self.create(res, ts)
            report["created"].append(res.key(i))
            self._note(report, kind, res.key(i))
        for i in targets[n_update:]:
            st.delete(i, self.floor(self.clock))
            self.changed(res, i)
            report["deleted"].append(res.key(i))
        return report

    @staticmethod
    def _note(report: dict[str, list[str]], kind: str, key: str) -> None:
        if kind == "late":
            report["late"].append(key)
        elif kind == "tie":
            report["tied"].append(key)

    # -- ground truth --------------------------------------------------------------------------
    def truth_summary(self) -> dict[str, Any]:
        with self.lock:
            resources = {}
            for name, res in self.resources.items():
                st = res.state
                broken = sum(1 for i in range(len(st)) if not st.deleted[i] and res.defect(i))
                resources[name] = {
                    "live": st.live_count,
                    "deleted": st.n_deleted,
                    "broken": broken,
                    "has_entities": res.entity is not None,
                }
            return {
                "portal": self.name,
                "seed": self.seed,
                "scale": self.scale,
                "step": self.step,
                "clock": fmt_iso(self.clock),
                "resources": resources,
            }

    def truth_lines(self, name: str, chunk: int = 2000) -> Iterator[bytes]:
        """NDJSON lines of one resource, from a snapshot taken under the lock."""
        res = self.resources[name]
        with self.lock:
            st = res.state
            updated, version, deleted = (
                array("q", st.updated),
                array("I", st.version),
                bytes(st.deleted),
            )
        buf: list[str] = []
        for i in range(len(updated)):
            line: dict[str, Any] = {
                "key": res.key(i),
                "version": version[i],
                "updated": res.stamp(updated[i]),
                "deleted": bool(deleted[i]),
            }
            if res.entity is not None:
                line["entity_id"] = res.entity(i)
            defect = None if deleted[i] else res.defect(i)
            line["defect"] = defect
            line["defect_field"] = res.defect_fields.get(defect) if defect else None
            buf.append(json.dumps(line, ensure_ascii=False))
            if len(buf) >= chunk:
                yield ("\n".join(buf) + "\n").encode("utf-8")
                buf = []
        if buf:
            yield ("\n".join(buf) + "\n").encode("utf-8")
