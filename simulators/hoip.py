"""H.OIP simulator: REST JSON, OAuth2, cursors and a change feed (docs/portals/hoip.md).

Style the connector toolkit meets here: a token endpoint with expiring bearer tokens, keyset
cursor pagination (``next_cursor``), ISO-8601 ``+07:00`` times, ``updated_after`` (exclusive)
and a compacted ``/changes`` feed numbered by a global ``seq`` that carries tombstones.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from array import array
from typing import Any
from urllib.parse import parse_qs

from simulators import vocab
from simulators.noise import fold, messy, money_text, phone_text
from simulators.portal import Portal, Request, Resource, Response, json_response, prefixed
from simulators.rand import rng, stable_hash, unit
from simulators.timefmt import date_iso, fmt_iso, parse_iso, to_dt
from simulators.webhooks import WebhookDispatcher
from simulators.world import Style, org_display, person_name

__all__ = ["CLIENTS", "HoipPortal"]

CLIENTS = {"ecohub": "dev-hoip-secret"}
_BASE = "/api/v1/"
_SUBSCRIPTIONS = "/api/v1/webhooks/subscriptions"
_PREFIX = {
    "startup-projects": "prj",
    "organizations": "org",
    "programs": "prg",
    "challenges": "chl",
    "support-applications": "app",
}
_START = {
    "startup-projects": 2019,
    "organizations": 2018,
    "programs": 2019,
    "challenges": 2020,
    "support-applications": 2021,
}
_STYLE = Style(tax=(74, 6, 12, 8), hard_name=0.15, form_variant=0.5, noise=0.8, new_address=0.8)
_STAGES = (
    ("idea", None),
    ("pre_incubation", 40),
    ("incubation", 80),
    ("acceleration", 400),
    ("speedup", 2000),
)
_KIND = {
    "incubator": "incubator",
    "accelerator": "accelerator",
    "investor": "investor",
    "university": "university",
    "institute": "research_institute",
    "agency": "agency",
    "company": "company",
    "center": "research_institute",
}
_PRODUCT_A = (
    "Agri",
    "Medi",
    "Edu",
    "Fin",
    "Logi",
    "Eco",
    "Smart",
    "Viet",
    "Sai",
    "Green",
    "Cyber",
    "Data",
)
_PRODUCT_B = (
    "Sense",
    "Link",
    "Care",
    "Pay",
    "Hub",
    "Track",
    "Mind",
    "Go",
    "Farm",
    "Lab",
    "Shield",
    "Flow",
)


# which served field each defect breaks (listed in the truth)
_DEFECT_FIELDS = {
    "startup-projects": {"impossible_date": "founded_date",
                         "negative_amount": "approved_support_vnd"},
    "support-applications": {"negative_amount": "approved_amount_vnd"},
    "challenges": {"impossible_date": "deadline"},
}


def _year_ts(year: int) -> int:
    return int(to_dt(0).replace(year=year, month=1, day=1, hour=0).timestamp())


def _topic(r: Any) -> str:
    return str(r.choice(vocab.TOPIC_OBJECTS[r.choice(list(vocab.TOPIC_OBJECTS))]))


def _b64(obj: dict[str, Any]) -> str:
    return (
        base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )


def _unb64(text: str) -> dict[str, Any]:
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("cursor is not an object")
    return value


class HoipPortal(Portal):
    name = "hoip"
    default_port = 8103
    granularity = 1

    def build_resources(self) -> None:
        self._tokens: dict[str, float] = {}
        self._token_lock = threading.Lock()
        self.webhooks = WebhookDispatcher(self.faults)
        self._token_serial = 0
        self.orgs = self.world.membership(
            "hoip/organizations",
            self.sizes["organizations"],
            {
                "incubator": 0.12,
                "accelerator": 0.08,
                "investor": 0.22,
                "university": 0.1,
                "institute": 0.06,
                "agency": 0.08,
                "company": 0.34,
            },
        )
        builders = {
            "startup-projects": self._project,
            "organizations": self._organization,
            "programs": self._program,
            "challenges": self._challenge,
            "support-applications": self._application,
        }
        defects = {
            "startup-projects": ("impossible_date", "negative_amount"),
            "support-applications": ("negative_amount",),
            "challenges": ("impossible_date",),
        }
        for name, build in builders.items():
            share = 0.01 if name in ("startup-projects", "support-applications") else 0.0
            state = self.new_state(name, start_ts=_year_ts(_START[name]), deleted_share=share)
            prefix = _PREFIX[name]
            res = Resource(
                name=name,
                state=state,
                key=prefixed(prefix),
                stamp=fmt_iso,
                build=build,
            )
            if name in defects:
                res.defect = self.defect_picker(name, 0.006, defects[name])
                res.defect_fields = _DEFECT_FIELDS[name]
            self.resources[name] = res
        orgs = self.resources["organizations"]
        orgs.entity = lambda i: self.world.orgs[self.orgs.ids[i]].wid
        orgs.on_create = lambda i: self.orgs.take(rng(self.seed, "hoip", "new-org", i))
        self._agencies = [
            i
            for i in range(self.sizes["organizations"])
            if self.world.orgs[self.orgs.ids[i]].kind == "agency"
        ] or [0]
        self._supporters = [
            i
            for i in range(self.sizes["organizations"])
            if self.world.orgs[self.orgs.ids[i]].kind in ("incubator", "accelerator", "university")
        ] or [0]
        self._startups = self.world.by_kind["company"][
            -max(1, len(self.world.by_kind["company"]) // 5) :
        ]
        projects = self.resources["startup-projects"]
        projects.entity = lambda i: self.world.orgs[self._startup(i)].wid  # the company
        self._build_log()

    def _startup(self, i: int) -> int:
        """World index of the company behind startup project ``i``."""
        return self._startups[int(unit(stable_hash(self.seed, "startup"), i) * len(self._startups))]

    # -- change feed ---------------------------------------------------------------------------
    def _build_log(self) -> None:
        """Every record gets one initial change, in (updated, resource, index) order."""
        self._names = list(self.resources)
        entries = []
        for n, name in enumerate(self._names):
            upd = self.resources[name].state.updated
            entries += [(upd[i], n, i) for i in range(len(upd))]
        entries.sort()
        self.log = array("q", ((n << 40) | i for _, n, i in entries))
        self.last_seq = {
            name: array("q", bytes(8 * len(self.resources[name].state))) for name in self._names
        }
        for seq, (_, n, i) in enumerate(entries, start=1):
            self.last_seq[self._names[n]][i] = seq

    def changed(self, res: Resource, i: int) -> None:
        if not hasattr(self, "log"):
            return
        self.log.append((self._names.index(res.name) << 40) | i)
        seqs = self.last_seq[res.name]
        while len(seqs) <= i:
            seqs.append(0)
        seqs[i] = len(self.log)
        if self.webhooks.wants(res.name):
            change = self._change(res.name, i, len(self.log))
            if change["op"] == "upsert":
                change["record"] = res.build(i)
            self.webhooks.publish(res.name, f"evt_{len(self.log):012d}", change)

    def close(self) -> None:
        self.webhooks.close()

    # -- contract ------------------------------------------------------------------------------
    def routes(self) -> list[tuple[str, str]]:
        out = [("POST", "/oauth/token")]
        for name in _PREFIX:
            out += [("GET", f"{_BASE}{name}"), ("GET", f"{_BASE}{name}/{{id}}")]
        return [
            *out,
            ("GET", f"{_BASE}changes"),
            ("POST", _SUBSCRIPTIONS),
            ("GET", _SUBSCRIPTIONS),
            ("DELETE", f"{_SUBSCRIPTIONS}/{{id}}"),
        ]

    def error(self, status: int, message: str) -> Response:
        kind = {
            400: ("invalid-parameter", "Invalid parameter"),
            401: ("unauthorized", "Unauthorized"),
            404: ("not-found", "Not found"),
            405: ("method-not-allowed", "Method not allowed"),
            410: ("gone", "Gone"),
            429: ("rate-limited", "Too many requests"),
        }.get(status, ("server-error", "Server error"))
        body = {
            "type": f"https://hoip.hochiminhcity.gov.vn/problems/{kind[0]}",
            "title": kind[1],
            "status": status,
            "detail": message,
        }
        resp = json_response(body, status, content_type="application/problem+json; charset=utf-8")
        if status == 401:
            resp.headers["WWW-Authenticate"] = 'Bearer realm="hoip", error="invalid_token"'
        return resp

    def fault_eligible(self, req: Request) -> bool:
        return req.path != "/oauth/token"

    def is_paging(self, req: Request) -> bool:
        if req.path.rstrip("/") == f"{_BASE}changes":
            return (req.arg("since") or "0") not in ("", "0")
        return bool(req.arg("cursor"))

    def can_expire(self, req: Request) -> bool:
        return self._bearer(req) is not None

    def expire_token(self, req: Request) -> None:
        token = self._bearer(req)
        with self._token_lock:
            self._tokens.pop(token or "", None)

    def dispatch(self, req: Request) -> Response:
        if req.path == "/oauth/token":
            return self._token(req)
        if not req.path.startswith(_BASE):
            return self.error(404, f"No resource at {req.path}")
        if req.path.rstrip("/") == _SUBSCRIPTIONS or req.path.startswith(_SUBSCRIPTIONS + "/"):
            if not self._authorized(req):
                return self.error(401, "Missing, expired or unknown bearer token")
            try:
                return self._subscriptions(req)
            except ValueError as exc:
                return self.error(400, str(exc))
        parts = req.path.removeprefix(_BASE).strip("/").split("/")
        if (parts[0] not in _PREFIX and parts != ["changes"]) or len(parts) > 2:
            return self.error(404, f"No resource at {req.path}")
        if req.method not in ("GET", "HEAD"):
            return self.error(405, f"{req.method} is not allowed here")
        if not self._authorized(req):
            return self.error(401, "Missing, expired or unknown bearer token")
        try:
            if parts == ["changes"]:
                return self._changes(req)
            res = self.resources[parts[0]]
            return self._detail(res, parts[1]) if len(parts) == 2 else self._list(req, res)
        except ValueError as exc:
            return self.error(400, str(exc))

    # -- auth ----------------------------------------------------------------------------------
    @staticmethod
    def _bearer(req: Request) -> str | None:
        value = req.headers.get("Authorization") or ""
        return value[7:].strip() if value[:7].lower() == "bearer " else None

    def _authorized(self, req: Request) -> bool:
        token = self._bearer(req)
        with self._token_lock:
            expiry = self._tokens.get(token or "")
        return expiry is not None and time.monotonic() < expiry

    def _token(self, req: Request) -> Response:
        def fail(status: int, error: str, text: str) -> Response:
            headers = {"WWW-Authenticate": 'Basic realm="hoip"'} if status == 401 else {}
            return json_response(
                {"error": error, "error_description": text}, status, headers=headers
            )

        if req.method != "POST":
            return fail(400, "invalid_request", "use POST")
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = req.headers.get("Authorization") or ""
        if auth[:6].lower() == "basic ":
            try:
                client_id, _, secret = (
                    base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
                )
            except (binascii.Error, UnicodeDecodeError):
                return fail(401, "invalid_client", "malformed Basic credentials")
        if form.get("grant_type") != "client_credentials":
            return fail(
                400,
                "unsupported_grant_type" if form.get("grant_type") else "invalid_request",
                "grant_type must be client_credentials",
            )
        if not client_id or CLIENTS.get(client_id) != secret:
            return fail(401, "invalid_client", "unknown client or wrong secret")
        ttl = float(self.faults.knobs["token_ttl"])
        with self._token_lock:
            self._token_serial += 1
            serial = self._token_serial
            token = f"hoip_at_{stable_hash(self.seed, 'token', serial):016x}{serial:x}"
            self._tokens[token] = time.monotonic() + ttl
        return json_response(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": int(ttl),
                "scope": "read",
            },
            headers={"Cache-Control": "no-store"},
        )

    # -- push interface ------------------------------------------------------------------------
    def _subscriptions(self, req: Request) -> Response:
        tail = req.path.rstrip("/").removeprefix(_SUBSCRIPTIONS).strip("/")
        if tail:
            if req.method != "DELETE" or "/" in tail:
                return self.error(405, f"{req.method} is not allowed here")
            if not self.webhooks.unsubscribe(tail):
                return self.error(404, f"No subscription {tail}")
            return Response(status=204, body=b"")
        if req.method == "GET":
            subs = [s.public() for s in self.webhooks.subscriptions.values()]
            return json_response({"items": subs})
        if req.method != "POST":
            return self.error(405, f"{req.method} is not allowed here")
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            raise ValueError("body must be a JSON object") from None
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        url, secret = body.get("callback_url"), body.get("secret")
        resources = body.get("resources", list(_PREFIX))
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError("callback_url must be an http(s) URL")
        if not isinstance(secret, str) or len(secret) < 16:
            raise ValueError("secret must be a string of at least 16 characters")
        if not isinstance(resources, list) or not resources or set(resources) - set(_PREFIX):
            raise ValueError(f"resources must be a non-empty list of {', '.join(_PREFIX)}")
        sub = self.webhooks.subscribe(url, secret, tuple(resources))
        return json_response(sub.public(), 201)

    # -- listings ------------------------------------------------------------------------------
    def _detail(self, res: Resource, raw: str) -> Response:
        prefix = _PREFIX[res.name] + "_"
        digits = raw.removeprefix(prefix)
        i = int(digits) if raw.startswith(prefix) and digits.isdigit() and len(digits) == 7 else -1
        with self.lock:
            st = res.state
            if not 0 <= i < len(st):
                return self.error(404, f"No {res.name} record {raw}")
            if st.deleted[i]:
                return self.error(410, f"{raw} was deleted at {fmt_iso(st.updated[i])}")
            return json_response(res.build(i))

    @staticmethod
    def _check(req: Request, allowed: set[str]) -> None:
        unknown = sorted(set(req.query) - allowed)
        if unknown:
            raise ValueError(f"unknown parameter(s): {', '.join(unknown)}")
        if any(len(v) > 1 for v in req.query.values()):
            raise ValueError("each parameter may be given once")

    @staticmethod
    def _int(req: Request, name: str, default: int, lo: int, hi: int) -> int:
        raw = req.arg(name)
        if raw is None:
            return default
        if not raw.isdigit() or not lo <= int(raw) <= hi:
            raise ValueError(f"{name} must be an integer between {lo} and {hi}")
        return int(raw)

    def _list(self, req: Request, res: Resource) -> Response:
        self._check(req, {"limit", "cursor", "updated_after"})
        limit = self._int(req, "limit", 50, 1, 200)
        after_raw = req.arg("updated_after")
        after = None
        if after_raw is not None:
            try:
                after = parse_iso(after_raw)
            except ValueError:
                raise ValueError(
                    "updated_after must be an ISO-8601 date-time with offset"
                ) from None
        cursor = req.arg("cursor")
        with self.lock:
            st = res.state
            if cursor:
                try:
                    point = _unb64(cursor)
                    ts, key, bound = int(point["u"]), str(point["i"]), point.get("a")
                    index = int(key.removeprefix(_PREFIX[res.name] + "_"))
                except (ValueError, KeyError, TypeError, binascii.Error):
                    raise ValueError("cursor is malformed") from None
                if bound != after:
                    raise ValueError("cursor was issued for another updated_after")
                pos = st.position_after(ts, index)
            else:
                pos = st.position(after, exclusive=True)
            picked = list(st.order[pos : pos + limit])
            items = [res.build(k) for k in picked]
            more = pos + limit < len(st.order)
            nxt = (
                _b64({"u": st.updated[picked[-1]], "i": res.key(picked[-1]), "a": after})
                if more and picked
                else None
            )
        resp = json_response({"items": items, "next_cursor": nxt, "has_more": bool(nxt)})
        resp.listing = f"{req.path}|{after_raw}|{limit}"
        resp.paging = bool(cursor)
        return resp

    def _changes(self, req: Request) -> Response:
        self._check(req, {"since", "limit", "resource"})
        since = self._int(req, "since", 0, 0, 1 << 62)
        limit = self._int(req, "limit", 100, 1, 1000)
        only = req.arg("resource")
        if only is not None and only not in _PREFIX:
            raise ValueError(f"resource must be one of {', '.join(_PREFIX)}")
        out: list[dict[str, Any]] = []
        with self.lock:
            seq = since
            while seq < len(self.log) and len(out) < limit:
                packed = self.log[seq]
                seq += 1
                name, i = self._names[packed >> 40], packed & ((1 << 40) - 1)
                if self.last_seq[name][i] != seq or (only is not None and name != only):
                    continue
                out.append(self._change(name, i, seq))
            more = seq < len(self.log)
        resp = json_response({"changes": out, "next_since": seq, "has_more": more})
        resp.listing = f"{req.path}|{only}|{limit}"
        resp.paging = since > 0
        return resp

    def _change(self, name: str, i: int, seq: int) -> dict[str, Any]:
        res = self.resources[name]
        st = res.state
        entry = {
            "seq": seq,
            "resource": name,
            "id": res.key(i),
            "op": "delete" if st.deleted[i] else "upsert",
            "version": st.version[i],
            "updated_at": fmt_iso(st.updated[i]),
        }
        if st.deleted[i]:
            entry["deleted_at"] = fmt_iso(st.updated[i])
        return entry

    def head_insert(self, req: Request, records: int) -> list[str]:
        name = req.path.removeprefix(_BASE).strip("/")
        res = self.resources.get(name)
        if res is None:  # the change feed: inserts land at its end anyway
            res = self.resources["organizations"]
        with self.lock:
            try:
                after = parse_iso(req.arg("updated_after") or "")
                ts = after + 1
            except ValueError:
                st = res.state
                ts = st.updated[st.order[0]] if len(st.order) else self.clock
            return [res.key(self.create(res, ts)) for _ in range(records)]

    # -- records -------------------------------------------------------------------------------
    def _meta(self, res: Resource, i: int) -> dict[str, Any]:
        st = res.state
        return {
            "created_at": fmt_iso(st.created[i]),
            "updated_at": fmt_iso(st.updated[i]),
            "version": st.version[i],
        }

    def _org_ref(self, i: int) -> dict[str, Any]:
        res = self.resources["organizations"]
        r = rng(self.seed, "hoip", "org-ref", i)
        return {
            "id": res.key(i),
            "name": org_display(
                self.world.orgs[self.orgs.ids[i]], r, _STYLE, self.clock, self.world
            )["name"],
        }

    def _organization(self, i: int) -> dict[str, Any]:
        res = self.resources["organizations"]
        st, r = res.state, rng(self.seed, "hoip", "organizations", i)
        rv = rng(self.seed, "hoip", "organizations", i, st.version[i])
        org = self.world.orgs[self.orgs.ids[i]]
        d = org_display(org, r, _STYLE, st.updated[i], self.world)
        parts = d["address_parts"]
        return {
            "id": res.key(i),
            "name": d["name"],
            "name_en": d["name_en"],
            "kind": _KIND[org.kind],
            "tax_id": d["tax"],
            "address": {**parts, "full": d["address"]},
            "website": d["website"],
            "email": d["email"],
            "phone": d["phone"],
            "description": messy(
                f"{org.name} tham gia hệ sinh thái khởi nghiệp đổi mới sáng tạo TP.HCM, "
                f"hỗ trợ {rv.randint(3, 120)} dự án.",
                r,
            ),
            "founded_year": org.founded_year if r.random() < 0.8 else None,
            **self._meta(res, i),
        }

    def _project(self, i: int) -> dict[str, Any]:
        res = self.resources["startup-projects"]
        st, r = res.state, rng(self.seed, "hoip", "startup-projects", i)
        rv = rng(self.seed, "hoip", "startup-projects", i, st.version[i])
        company = self.world.orgs[self._startup(i)]
        cd = org_display(company, r, _STYLE, st.created[i], self.world, easy=True)
        stage, cap = r.choice(_STAGES)
        founders = []
        for _ in range(r.randint(1, 3)):
            surname, middle, given = person_name(r)
            name = f"{surname} {middle} {given}"
            slug = f"{given}{surname}".lower()
            domain = r.choice(("gmail.com", company.domain))
            email = f"{fold(slug).replace(' ', '')}{r.randint(1, 99)}@{domain}"
            phone = r.choice(vocab.MOBILE_PREFIXES) + "".join(
                r.choice("0123456789") for _ in range(7)
            )
            founders.append(
                {
                    "name": messy(name, r),
                    "role": r.choice(("CEO", "CTO", "COO", "Đồng sáng lập")),
                    "email": email,
                    "phone": phone_text(phone, r),
                }
            )
        defect = res.defect(i)
        approved = None if cap is None or rv.random() < 0.5 else cap * 1_000_000
        if defect == "negative_amount":
            approved = -40_000_000
        return {
            "id": res.key(i),
            "name": f"{r.choice(_PRODUCT_A)}{r.choice(_PRODUCT_B)}",
            "company_name": cd["name"] if r.random() < 0.9 else None,
            "company_tax_id": cd["tax"],
            "description": messy(
                f"Giải pháp {_topic(r)} cho thị trường Việt Nam.",
                r,
            ),
            "stage": rv.choice((stage, stage, "incubation")) if stage != "speedup" else stage,
            "fields": sorted(set(r.sample(vocab.HOIP_FIELDS, r.randint(1, 3)))),
            "founders": founders,
            "incubator": self._org_ref(r.choice(self._supporters)) if r.random() < 0.7 else None,
            "program_id": f"prg_{r.randrange(self.sizes['programs']):07d}"
            if r.random() < 0.6
            else None,
            "requested_funding": money_text((cap or 50) * 1_000_000, r)
            if r.random() < 0.8
            else None,
            "approved_support_vnd": approved,
            "status": rv.choice(("submitted", "active", "active", "graduated", "closed")),
            "founded_date": "2024-13-45"
            if defect == "impossible_date"
            else date_iso(st.created[i] - 86400 * r.randint(30, 900)),
            "website": f"https://{company.domain}" if r.random() < 0.6 else None,
            **self._meta(res, i),
        }

    def _program(self, i: int) -> dict[str, Any]:
        res = self.resources["programs"]
        st, r = res.state, rng(self.seed, "hoip", "programs", i)
        rv = rng(self.seed, "hoip", "programs", i, st.version[i])
        base, kind = vocab.PROGRAMS[i % len(vocab.PROGRAMS)]
        year = to_dt(st.created[i]).year
        name = f"{base} {year}" + (
            f" – đợt {i // len(vocab.PROGRAMS) % 3 + 1}" if kind == "support_programme" else ""
        )
        start = st.created[i] + 86400 * r.randint(10, 60)
        return {
            "id": res.key(i),
            "name": messy(name, r, 0.5),
            "type": kind,
            "organizer": self._org_ref(r.choice(self._supporters)),
            "start_date": date_iso(start),
            "end_date": date_iso(start + 86400 * r.randint(60, 365)),
            "budget": money_text(r.choice((500, 1000, 2000, 5000, 10000)) * 1_000_000, r)
            if r.random() < 0.7
            else None,
            "description": messy(
                f"Chương trình {name} hỗ trợ khởi nghiệp đổi mới sáng tạo tại TP.HCM.", r
            ),
            "status": rv.choice(("upcoming", "open", "closed", "closed")),
            **self._meta(res, i),
        }

    def _challenge(self, i: int) -> dict[str, Any]:
        res = self.resources["challenges"]
        st, r = res.state, rng(self.seed, "hoip", "challenges", i)
        rv = rng(self.seed, "hoip", "challenges", i, st.version[i])
        obj = r.choice(vocab.TOPIC_OBJECTS[r.choice(list(vocab.TOPIC_OBJECTS))])
        deadline = (
            "2025-02-30"
            if res.defect(i) == "impossible_date"
            else date_iso(st.created[i] + 86400 * r.randint(30, 180))
        )
        return {
            "id": res.key(i),
            "title": messy(f"Đặt hàng giải pháp: {obj}", r),
            "agency": self._org_ref(r.choice(self._agencies)),
            "description": messy(
                f"Cơ quan cần giải pháp về {obj} để nâng cao chất lượng dịch vụ công.", r
            ),
            "field": r.choice(vocab.HOIP_FIELDS),
            "reward": money_text(r.choice((100, 200, 500, 1000)) * 1_000_000, r)
            if r.random() < 0.6
            else None,
            "deadline": deadline,
            "status": rv.choice(("open", "closed", "solved")),
            "solutions_count": rv.randint(0, 40),
            **self._meta(res, i),
        }

    def _application(self, i: int) -> dict[str, Any]:
        res = self.resources["support-applications"]
        st, r = res.state, rng(self.seed, "hoip", "support-applications", i)
        rv = rng(self.seed, "hoip", "support-applications", i, st.version[i])
        stage, cap = r.choice(_STAGES[1:])
        status = rv.choice(("submitted", "under_review", "approved", "rejected", "disbursed"))
        approved = (cap or 0) * 1_000_000 if status in ("approved", "disbursed") else None
        if res.defect(i) == "negative_amount":
            approved = -(cap or 40) * 1_000_000
        submitted = st.created[i]
        return {
            "id": res.key(i),
            "project_id": f"prj_{r.randrange(self.sizes['startup-projects']):07d}",
            "program_id": f"prg_{r.randrange(self.sizes['programs']):07d}"
            if r.random() < 0.7
            else None,
            "policy": r.choice(
                (
                    "Nghị quyết 20/2023/NQ-HĐND",
                    "Nghị quyết 20/2023/NQ-HĐND",
                    "Chương trình SpeedUp",
                    "Quyết định 1665/QĐ-TTg",
                )
            ),
            "stage": stage,
            "requested_amount": money_text((cap or 40) * 1_000_000, r),
            "approved_amount_vnd": approved,
            "status": status,
            "submitted_at": fmt_iso(submitted),
            "decided_at": fmt_iso(st.updated[i])
            if status in ("approved", "rejected", "disbursed")
            else None,
            **self._meta(res, i),
        }
