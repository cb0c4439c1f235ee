"""Stinet simulator: OAI-PMH 2.0 for documents plus a JSON API (contract: docs/portals/stinet.md).

Style the connector toolkit meets here: library harvesting (six OAI verbs, ``oai_dc``,
``from``/``until``, sets, offset-based resumption tokens that expire, persistent deletions,
OAI error codes answered with HTTP 200) next to a plain JSON API with page numbers and
``modified_since`` whose deletions are not signalled.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape, quoteattr

from ecohub.errors import EcohubError
from simulators import vocab
from simulators.noise import messy, money_text
from simulators.portal import Portal, Request, Resource, Response, json_response, numbered
from simulators.rand import mix64, rng, stable_hash, unit
from simulators.timefmt import date_dmy, fmt_local, fmt_oai, parse_local, parse_oai, to_dt
from simulators.world import Style, lab_display, org_display, person_display

__all__ = ["StinetPortal"]

_OAI_PAGE = {"ListRecords": 100, "ListIdentifiers": 200}
_JSON_IDS = {"organizations": 1000, "laboratories": 3000, "experts": 5000, "tasks": 10_000}
_STYLE = Style(tax=(78, 6, 10, 6), hard_name=0.04, form_variant=0.3, noise=1.0, new_address=0.5)
_ID_PREFIX = "oai:stinet.gov.vn:doc/"
_EARLIEST = "2016-01-01T00:00:00Z"
_MEMBERS = [
    (
        u[3].lower(),
        f"Trường Đại học {u[0]}"
        + (f" – {u[1]}" if u[1] == "ĐHQG-HCM" else (f" {u[1]}" if u[1] else "")),
    )
    for u in vocab.UNIVERSITIES
] + [
    ("cesti", "Trung tâm Thông tin và Thống kê Khoa học và Công nghệ TP.HCM"),
    ("gslib", "Thư viện Khoa học Tổng hợp TP.HCM"),
]
_TYPE_WEIGHTS = [t[2] for t in vocab.DOC_TYPES]
_VERB_ARGS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), set()),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set"}),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
}
_TASK_STATUS = ("Đang thực hiện", "Đã nghiệm thu", "Đã nghiệm thu", "Tạm dừng", "Đã thanh lý")
_LAB_TYPES = (
    "Phòng thí nghiệm trọng điểm",
    "Phòng thí nghiệm chuyên ngành",
    "Phòng thí nghiệm được công nhận VILAS",
)
_ORG_TYPES = {
    "university": "Trường đại học",
    "institute": "Viện nghiên cứu",
    "center": "Trung tâm",
    "company": "Doanh nghiệp KH&CN",
}


class OaiError(EcohubError):
    """A harvester's request breaks OAI-PMH: answered with an ``<error code=...>`` document."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _ean_check(digits: str) -> int:
    """EAN-13 (ISBN-13) check digit of the first twelve digits."""
    total = sum(int(d) * (3 if k % 2 else 1) for k, d in enumerate(digits))
    return (10 - total % 10) % 10


def _issn_check(digits: str, wrong: bool) -> str:
    """ISSN check character of the first seven digits (``wrong``: a different one)."""
    value = (11 - sum(int(d) * (8 - k) for k, d in enumerate(digits)) % 11) % 11
    if wrong:
        value = (value + 1) % 11
    return "X" if value == 10 else str(value)


def _year_ts(year: int) -> int:
    return int(to_dt(0).replace(year=year, month=1, day=1, hour=0).timestamp())


class StinetPortal(Portal):
    name = "stinet"
    default_port = 8101
    granularity = 1

    def build_resources(self) -> None:
        w = self.world
        self.org_members = w.membership(
            "stinet/organizations",
            self.sizes["organizations"],
            {"university": 0.25, "institute": 0.35, "center": 0.3, "company": 0.1},
        )
        self.expert_members = w.membership("stinet/experts", self.sizes["experts"], {"person": 1.0})
        self._org_of_world = {wid: i for i, wid in enumerate(self.org_members.ids)}
        docs = self.new_state(
            "documents", start_ts=_year_ts(2016), include_deleted=True, deleted_share=0.005
        )
        self.resources["documents"] = Resource(
            "documents",
            docs,
            key=lambda i: f"{_ID_PREFIX}{i:08d}",
            stamp=fmt_oai,
            build=self._document,
            defect=self._document_defect(),
            defect_fields={"missing_title": "title", "impossible_date": "date",
                           "invalid_isbn": "identifier", "invalid_issn": "identifier"},
            on_create=self._doc_created,
        )
        self._doc_attrs(len(docs))
        starts = {"tasks": 2016, "experts": 2018, "laboratories": 2018, "organizations": 2018}
        builders = {
            "tasks": self._task,
            "experts": self._expert,
            "laboratories": self._lab,
            "organizations": self._org,
        }
        for name, build in builders.items():
            base = _JSON_IDS[name]
            self.resources[name] = Resource(
                name,
                self.new_state(name, start_ts=_year_ts(starts[name])),
                key=numbered(base),
                stamp=fmt_local,
                build=build,
            )
        self.resources["tasks"].defect = self.defect_picker("tasks", 0.006, ("impossible_date",))
        self.resources["tasks"].defect_fields = {"impossible_date": "end_date"}
        orgs, experts = self.resources["organizations"], self.resources["experts"]
        orgs.entity = lambda i: self.world.orgs[self.org_members.ids[i]].wid
        experts.entity = lambda i: self.world.persons[-1 - self.expert_members.ids[i]].wid
        orgs.on_create = self._org_created
        experts.on_create = lambda i: self.expert_members.take(
            rng(self.seed, "stinet", "new-expert", i)
        )
        labs = self.resources["laboratories"]
        self.lab_ids = self.world.lab_listing("stinet/laboratories", self.sizes["laboratories"])
        labs.entity = lambda i: self.world.labs[self.lab_ids[i]].wid
        labs.on_create = self._lab_created
        self._tokens: OrderedDict[str, float] = OrderedDict()
        self._expired: set[str] = set()
        self._link_tasks()

    def _lab_created(self, i: int) -> None:
        """A new laboratory record: mostly a lab not listed yet, sometimes a re-listing."""
        r = rng(self.seed, "stinet", "new-lab", i)
        listed = set(self.lab_ids)
        fresh = [k for k in range(len(self.world.labs)) if k not in listed]
        if fresh and r.random() < 0.9:
            self.lab_ids.append(fresh[r.randrange(len(fresh))])
        else:
            self.lab_ids.append(self.lab_ids[r.randrange(len(self.lab_ids))])

    def _org_created(self, i: int) -> None:
        wid = self.org_members.take(rng(self.seed, "stinet", "new-org", i))
        self._org_of_world.setdefault(wid, i)

    def _doc_attrs(self, n: int) -> None:
        """Member institution and document type of every document (they define the sets)."""
        self.doc_inst = bytearray()
        self.doc_type = bytearray()
        for i in range(n):
            self._doc_created(i)

    def _doc_created(self, i: int) -> None:
        h = mix64(stable_hash(self.seed, "doc-attrs") ^ i)
        self.doc_inst.append(h % len(_MEMBERS))
        u, acc, kind = (h >> 20) / 2.0**44, 0.0, 0
        for kind, weight in enumerate(_TYPE_WEIGHTS):  # noqa: B007 - kind is used after the loop
            acc += weight
            if u < acc:
                break
        self.doc_type.append(kind)

    def _link_tasks(self) -> None:
        """Task reports linked to S&T tasks: ``dc:relation`` <-> ``document_ids``."""
        r = rng(self.seed, "stinet", "task-links")
        n_docs = len(self.resources["documents"].state)
        self.task_docs: dict[int, list[int]] = {}
        self.doc_task: dict[int, int] = {}
        for t in range(self.sizes["tasks"]):
            if r.random() < 0.6:
                d = r.randrange(n_docs)
                if d in self.doc_task:
                    continue
                self.doc_type[d] = 0  # task_report
                self.doc_task[d] = t
                self.task_docs.setdefault(t, []).append(d)

    # -- contract ------------------------------------------------------------------------------
    def routes(self) -> list[tuple[str, str]]:
        out = [("GET", "/oai"), ("POST", "/oai")]
        for name in ("tasks", "experts", "laboratories", "organizations"):
            out += [("GET", f"/api/v1/{name}"), ("GET", f"/api/v1/{name}/{{id}}")]
        return out

    def error(self, status: int, message: str) -> Response:
        code = {400: "invalid_parameter", 404: "not_found", 405: "method_not_allowed"}.get(
            status, "server_error"
        )
        if status == 429:
            code = "rate_limited"
        return json_response({"error": {"code": code, "message": message}}, status)

    def is_paging(self, req: Request) -> bool:
        if req.path.rstrip("/") == "/oai":
            return bool(self._oai_args(req).get("resumptionToken"))
        return (req.arg("page") or "1") not in ("", "1")

    def can_expire(self, req: Request) -> bool:
        return req.path.rstrip("/") == "/oai" and bool(self._oai_args(req).get("resumptionToken"))

    def expire_token(self, req: Request) -> None:
        token = self._oai_args(req).get("resumptionToken")
        if token:
            self._expired.add(token[0])

    def dispatch(self, req: Request) -> Response:
        path = req.path.rstrip("/")
        if path == "/oai":
            if req.method not in ("GET", "POST", "HEAD"):
                return self.error(405, f"{req.method} not allowed on /oai")
            return self._oai(req)
        parts = path.removeprefix("/api/v1/").split("/") if path.startswith("/api/v1/") else []
        if not parts or parts[0] not in _JSON_IDS or len(parts) > 2:
            return self.error(404, f"no resource at {req.path}")
        if req.method not in ("GET", "HEAD"):
            return self.error(405, f"{req.method} not allowed")
        res = self.resources[parts[0]]
        if len(parts) == 2:
            raw = parts[1]
            with self.lock:
                i = int(raw) - _JSON_IDS[res.name] if raw.isdigit() else -1
                if not res.state.is_live(i):
                    return self.error(404, f"{res.name} {raw} not found")
                return json_response({"data": res.build(i)})
        return self._json_list(req, res)

    # -- JSON API ------------------------------------------------------------------------------
    def _json_list(self, req: Request, res: Resource) -> Response:
        unknown = sorted(set(req.query) - {"page", "page_size", "modified_since"})
        if unknown:
            return self._bad(unknown[0], f"unknown parameter {unknown[0]}")
        page, size = req.arg("page") or "1", req.arg("page_size") or "50"
        if not page.isdigit() or int(page) < 1:
            return self._bad("page", "page must be an integer >= 1")
        if not size.isdigit() or not 1 <= int(size) <= 500:
            return self._bad("page_size", "page_size must be between 1 and 500")
        since_raw = req.arg("modified_since")
        try:
            since = parse_local(since_raw) if since_raw is not None else None
        except ValueError:
            return self._bad(
                "modified_since",
                "modified_since must be YYYY-MM-DD HH:MM:SS (local time), "
                "YYYY-MM-DDTHH:MM:SS+07:00 or YYYY-MM-DD",
            )
        p, n = int(page), int(size)
        with self.lock:
            st = res.state
            lo = st.position(since)
            total = len(st.order) - lo
            first = lo + (p - 1) * n
            rows = [res.build(k) for k in st.order[first : first + n]] if p * n - n < total else []
        pages = -(-total // n)

        def link(k: int) -> str | None:
            if k < 1 or k > pages:
                return None
            extra = f"&modified_since={since_raw}" if since_raw is not None else ""
            return f"/api/v1/{res.name}?page={k}&page_size={n}{extra}"

        resp = json_response(
            {
                "data": rows,
                "meta": {"page": p, "page_size": n, "total": total, "total_pages": pages},
                "links": {
                    "self": f"/api/v1/{res.name}?page={p}&page_size={n}"
                    + (f"&modified_since={since_raw}" if since_raw is not None else ""),
                    "next": link(p + 1),
                    "prev": link(p - 1) if p > 1 else None,
                },
            }
        )
        resp.listing = f"{req.path}|{since_raw}|{n}"
        resp.paging = p > 1
        return resp

    def _bad(self, parameter: str, message: str) -> Response:
        return json_response(
            {"error": {"code": "invalid_parameter", "message": message, "parameter": parameter}},
            400,
        )

    def head_insert(self, req: Request, records: int) -> list[str]:
        path = req.path.rstrip("/")
        with self.lock:
            if path == "/oai":
                res = self.resources["documents"]
                try:
                    token = self._decode_token(self._oai_args(req)["resumptionToken"][0])
                    ts = parse_oai(token["f"])[0] if token.get("f") else None
                except (OaiError, KeyError, ValueError):
                    ts = None
            else:
                res = self.resources[path.split("/")[3]]
                try:
                    ts = parse_local(req.arg("modified_since") or "")
                except ValueError:
                    ts = None
            st = res.state
            if ts is None:
                ts = st.updated[st.order[0]] if len(st.order) else self.clock
            return [res.key(self.create(res, ts)) for _ in range(records)]

    # -- OAI-PMH -------------------------------------------------------------------------------
    @staticmethod
    def _oai_args(req: Request) -> dict[str, list[str]]:
        if req.method == "POST":
            return parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
        return req.query

    def _oai(self, req: Request) -> Response:
        args = self._oai_args(req)
        base = f"http://{req.headers.get('Host') or '127.0.0.1:8101'}/oai"
        verbs = args.get("verb", [])
        try:
            if len(verbs) != 1 or verbs[0] not in _VERB_ARGS:
                raise OaiError("badVerb", "verb is missing, repeated or not an OAI-PMH verb")
            verb = verbs[0]
            if any(len(v) > 1 for v in args.values()):
                raise OaiError("badArgument", "an argument is repeated")
            flat = {k: v[0] for k, v in args.items() if k != "verb"}
            body, listing, paging = self._verb(verb, flat, base)
            request = (
                f"<request verb={quoteattr(verb)}"
                + "".join(f" {k}={quoteattr(v)}" for k, v in sorted(flat.items()))
                + f">{escape(base)}</request>"
            )
            xml = f"{request}\n<{verb}>{body}</{verb}>"
        except OaiError as exc:
            keep = exc.code not in ("badVerb", "badArgument")
            attrs = (
                "".join(f" {k}={quoteattr(v[0])}" for k, v in sorted(args.items()) if v)
                if keep
                else ""
            )
            error = f"<error code={quoteattr(exc.code)}>{escape(str(exc))}</error>"
            xml = f"<request{attrs}>{escape(base)}</request>\n{error}"
            listing, paging = None, False
        resp = Response(
            body=self._envelope(xml).encode("utf-8"), content_type="text/xml; charset=utf-8"
        )
        resp.listing, resp.paging = listing, paging
        return resp

    def _envelope(self, inner: str) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">\n'
            f"<responseDate>{fmt_oai(self.clock)}</responseDate>\n{inner}\n</OAI-PMH>\n"
        )

    def _verb(self, verb: str, args: dict[str, str], base: str) -> tuple[str, str | None, bool]:
        token = args.get("resumptionToken")
        if token is not None and verb in ("ListIdentifiers", "ListRecords", "ListSets"):
            if set(args) != {"resumptionToken"}:
                raise OaiError("badArgument", "resumptionToken is an exclusive argument")
            if verb == "ListSets":
                raise OaiError("badResumptionToken", "ListSets never issues resumption tokens")
            state = self._decode_token(token)
            if state["v"] != verb:
                raise OaiError("badResumptionToken", "the token belongs to another verb")
            return self._list(verb, state, resumed=True)
        required, optional = _VERB_ARGS[verb]
        missing = sorted(required - set(args))
        unknown = sorted(set(args) - required - optional)
        if missing or unknown:
            raise OaiError("badArgument", f"missing {missing} / not allowed {unknown} for {verb}")
        if verb == "Identify":
            return self._identify(base), None, False
        if verb == "ListSets":
            return self._sets(), None, False
        if verb == "ListMetadataFormats":
            if "identifier" in args:
                self._doc_index(args["identifier"])
            return self._formats(), None, False
        if args["metadataPrefix"] != "oai_dc":
            raise OaiError(
                "cannotDisseminateFormat", f"{args['metadataPrefix']} is not supported; use oai_dc"
            )
        if verb == "GetRecord":
            with self.lock:
                return self._record(self._doc_index(args["identifier"]), True), None, False
        state = {
            "v": verb,
            "f": args.get("from"),
            "u": args.get("until"),
            "s": args.get("set"),
            "o": 0,
        }
        return self._list(verb, state, resumed=False)

    @staticmethod
    def _identify(base: str) -> str:
        return (
            "<repositoryName>Stinet - Hệ thống liên kết nguồn lực thông tin KH&amp;CN TP.HCM"
            f"</repositoryName><baseURL>{escape(base)}</baseURL><protocolVersion>2.0</protocolVersion>"
            "<adminEmail>stinet@cesti.gov.vn</adminEmail>"
            f"<earliestDatestamp>{_EARLIEST}</earliestDatestamp><deletedRecord>persistent</deletedRecord>"
            "<granularity>YYYY-MM-DDThh:mm:ssZ</granularity>"
        )

    @staticmethod
    def _formats() -> str:
        return (
            "<metadataFormat><metadataPrefix>oai_dc</metadataPrefix>"
            "<schema>http://www.openarchives.org/OAI/2.0/oai_dc.xsd</schema>"
            "<metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace></metadataFormat>"
        )

    @staticmethod
    def _sets() -> str:
        items = [("inst", "Đơn vị thành viên"), ("type", "Loại tài liệu")]
        items += [(f"inst:{code}", name) for code, name in _MEMBERS]
        items += [(f"type:{code}", label) for code, label, _ in vocab.DOC_TYPES]
        return "".join(
            f"<set><setSpec>{escape(s)}</setSpec><setName>{escape(n)}</setName></set>"
            for s, n in items
        )

    def _doc_index(self, identifier: str) -> int:
        digits = identifier.removeprefix(_ID_PREFIX)
        i = (
            int(digits)
            if identifier.startswith(_ID_PREFIX) and digits.isdigit() and len(digits) == 8
            else -1
        )
        if not 0 <= i < len(self.resources["documents"].state):
            raise OaiError(
                "idDoesNotExist", f"{identifier} is not an identifier of this repository"
            )
        return i

    def _set_pred(self, spec: str | None) -> Any:
        if spec is None or spec in ("inst", "type"):
            return None
        family, _, code = spec.partition(":")
        if family == "inst":
            codes = [c for c, _ in _MEMBERS]
            if code in codes:
                k = codes.index(code)
                return lambda i: self.doc_inst[i] == k
        if family == "type":
            codes = [c for c, _, _ in vocab.DOC_TYPES]
            if code in codes:
                k = codes.index(code)
                return lambda i: self.doc_type[i] == k
        raise OaiError("badArgument", f"unknown set {spec}")

    def _bounds(self, state: dict[str, Any]) -> tuple[int | None, int | None]:
        try:
            f = parse_oai(state["f"]) if state.get("f") else None
            u = parse_oai(state["u"]) if state.get("u") else None
        except ValueError:
            raise OaiError(
                "badArgument", "from/until must be YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ"
            ) from None
        if f and u and f[1] != u[1]:
            raise OaiError("badArgument", "from and until must have the same granularity")
        lo = f[0] if f else None
        hi = (u[0] + 86399 if u[1] else u[0]) if u else None
        if lo is not None and hi is not None and lo > hi:
            raise OaiError("badArgument", "from is later than until")
        return lo, hi

    def _list(
        self, verb: str, state: dict[str, Any], *, resumed: bool
    ) -> tuple[str, str | None, bool]:
        lo_ts, hi_ts = self._bounds(state)
        base_pred = self._set_pred(state.get("s"))
        res = self.resources["documents"]
        with self.lock:
            st = res.state
            lo = st.position(lo_ts)
            hi = st.position(hi_ts, exclusive=True) if hi_ts is not None else len(st.order)
            if base_pred is None:
                seq, start, end = st.order, lo, hi
            else:
                upd = st.updated
                limit = hi_ts if hi_ts is not None else 1 << 62

                def pred(k: int) -> bool:
                    return bool(upd[k] <= limit and base_pred(k))

                seq, start = self.listing(res, lo, pred, tag=f"{state.get('s')}|{hi_ts}")
                end = len(seq)
            total, offset = end - start, int(state["o"])
            if total == 0 or (resumed and offset >= total):
                raise OaiError("noRecordsMatch", "no record matches the request")
            page = _OAI_PAGE[verb]
            picked = seq[start + offset : min(start + offset + page, end)]
            full = verb == "ListRecords"
            parts = [self._record(k, full) if full else self._header(k) for k in picked]
        more = offset + page < total
        nxt = self._encode_token({**state, "o": offset + page}) if more else ""
        if more or resumed:
            parts.append(
                f'<resumptionToken completeListSize="{total}" cursor="{offset}">'
                f"{nxt}</resumptionToken>"
            )
        listing = f"oai|{verb}|{state.get('f')}|{state.get('u')}|{state.get('s')}"
        return "\n".join(parts), listing, resumed

    # tokens: opaque, signed, offset-based; validity tracked per process
    def _encode_token(self, state: dict[str, Any]) -> str:
        payload = json.dumps(state, separators=(",", ":"), sort_keys=True)
        sig = f"{stable_hash(self.seed, 'oai-token', payload):016x}"
        token = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=") + "." + sig
        self._tokens[token] = time.monotonic()
        self._tokens.move_to_end(token)
        while len(self._tokens) > 100_000:
            self._tokens.popitem(last=False)
        return token

    def _decode_token(self, token: str) -> dict[str, Any]:
        body, _, sig = token.partition(".")
        try:
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
            state = json.loads(payload)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise OaiError("badResumptionToken", "the resumption token is not valid") from None
        if sig != f"{stable_hash(self.seed, 'oai-token', payload):016x}" or not isinstance(
            state, dict
        ):
            raise OaiError("badResumptionToken", "the resumption token is not valid")
        issued = self._tokens.get(token)
        ttl = float(self.faults.knobs["resumption_ttl"])
        if token in self._expired or (issued is not None and time.monotonic() - issued > ttl):
            self._expired.discard(token)
            raise OaiError(
                "badResumptionToken", "the resumption token has expired; restart the list request"
            )
        return state

    def _header(self, i: int) -> str:
        st = self.resources["documents"].state
        status = ' status="deleted"' if st.deleted[i] else ""
        return (
            f"<header{status}><identifier>{_ID_PREFIX}{i:08d}</identifier>"
            f"<datestamp>{fmt_oai(st.updated[i])}</datestamp>"
            f"<setSpec>inst:{_MEMBERS[self.doc_inst[i]][0]}</setSpec>"
            f"<setSpec>type:{vocab.DOC_TYPES[self.doc_type[i]][0]}</setSpec></header>"
        )

    def _record(self, i: int, full: bool) -> str:
        header = self._header(i)
        if not full or self.resources["documents"].state.deleted[i]:
            return f"<record>{header}</record>" if full else header
        dc = "".join(f"<dc:{k}>{escape(v)}</dc:{k}>" for k, v in self._document_fields(i))
        return (
            f"<record>{header}<metadata>"
            '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc/ http://www.openarchives.org/OAI/2.0/oai_dc.xsd">'
            f"{dc}</oai_dc:dc></metadata></record>"
        )

    # -- records -------------------------------------------------------------------------------
    def _document(self, i: int) -> dict[str, Any]:
        """A document as a dict of Dublin Core lists (used by tests; OAI serves XML)."""
        out: dict[str, Any] = {}
        for k, v in self._document_fields(i):
            out.setdefault(k, []).append(v)
        return out

    def _document_fields(self, i: int) -> list[tuple[str, str]]:
        res = self.resources["documents"]
        st, r = res.state, rng(self.seed, "stinet", "documents", i)
        rv = rng(self.seed, "stinet", "documents", i, st.version[i])
        code, label, _ = vocab.DOC_TYPES[self.doc_type[i]]
        field = r.choice(list(vocab.FIELDS))
        sub = r.choice(vocab.FIELDS[field])
        obj = r.choice(vocab.TOPIC_OBJECTS[field])
        title = f"{r.choice(vocab.TOPIC_VERBS)} {obj}"
        if rv.random() < 0.2:
            title += " tại TP. Hồ Chí Minh"
        defect = res.defect(i)
        out: list[tuple[str, str]] = []
        if defect != "missing_title":
            out.append(("title", messy(title, r)))
        for _ in range(r.randint(1, 4) if code not in ("thesis", "dissertation") else 1):
            p = self.world.persons[r.randrange(len(self.world.persons))]
            out.append(("creator", person_display(p, self.world, r, _STYLE)["name"]))
        out += [("subject", field), ("subject", sub), ("subject", obj.split(" ")[0])]
        out.append(
            ("description", messy(f"Tóm tắt: {title}. Kết quả có ý nghĩa khoa học & thực tiễn.", r))
        )
        out.append(("publisher", messy(_MEMBERS[self.doc_inst[i]][1], r)))
        if code in ("thesis", "dissertation"):
            p = self.world.persons[r.randrange(len(self.world.persons))]
            out.append(("contributor", person_display(p, self.world, r, _STYLE)["name"]))
        created = to_dt(st.created[i])
        date = created.strftime("%Y") if r.random() < 0.4 else created.strftime("%Y-%m-%d")
        out.append(("date", "2019-02-30" if defect == "impossible_date" else date))
        out += [
            ("type", label),
            ("format", "application/pdf" if r.random() < 0.85 else "text/html"),
            ("identifier", f"https://stinet.gov.vn/tai-lieu/{i}"),
        ]
        if code in ("book", "textbook"):
            digits = f"978604{r.randint(10, 99)}{r.randint(1000, 9999)}"
            check = (_ean_check(digits) + (defect == "invalid_isbn")) % 10
            out.append(("identifier", f"ISBN {digits[:3]}-{digits[3:6]}-{digits[6:8]}-"
                                      f"{digits[8:]}-{check}"))
        if code == "journal_article":
            digits = f"1859{r.randint(100, 999)}"
            issn_check = _issn_check(digits, defect == "invalid_issn")
            out.append(("identifier", f"ISSN {digits[:4]}-{digits[4:]}{issn_check}"))
        out.append(("language", "vi" if r.random() < 0.9 else "en"))
        if i in self.doc_task:
            out.append(("relation", f"Nhiệm vụ: {self._task_code(self.doc_task[i])}"))
        out.append(
            (
                "rights",
                "Toàn văn"
                if unit(stable_hash(self.seed, "fulltext"), i) < 0.1
                else "Chỉ có tóm tắt",
            )
        )
        return out

    def _meta(self, res: Resource, i: int) -> dict[str, Any]:
        st = res.state
        return {
            "created": fmt_local(st.created[i]),
            "modified": fmt_local(st.updated[i]),
            "revision": st.version[i],
        }

    def _org_ref(self, i: int, r: Any) -> dict[str, Any]:
        org = self.world.orgs[self.org_members.ids[i]]
        show_id = r.random() < 0.9
        return {
            "id": _JSON_IDS["organizations"] + i if show_id else None,
            "name": org_display(org, r, _STYLE, self.clock, self.world)["name"],
        }

    def _document_defect(self) -> Callable[[int], str | None]:
        """Record defects of any document, plus a wrong check digit in ~3 % of the ISBNs of
        books and ISSNs of articles (a field defect: the document is still a document)."""
        base = self.defect_picker("documents", 0.004, ("missing_title", "impossible_date"))
        salt = stable_hash(self.seed, self.name, "documents", "identifier-defect")

        def defect(i: int) -> str | None:
            found = base(i)
            if found is not None or unit(salt, i) >= 0.03:
                return found
            code = vocab.DOC_TYPES[self.doc_type[i]][0]
            if code in ("book", "textbook"):
                return "invalid_isbn"
            return "invalid_issn" if code == "journal_article" else None

        return defect

    def _task_code(self, t: int) -> str:
        res = self.resources["tasks"]
        year = to_dt(res.state.created[t]).year
        return f"{t + 1:04d}/{year}/HĐ-{'QPTKHCN' if t % 3 else 'SKHCN'}"

    def _task(self, i: int) -> dict[str, Any]:
        res = self.resources["tasks"]
        st, r = res.state, rng(self.seed, "stinet", "tasks", i)
        rv = rng(self.seed, "stinet", "tasks", i, st.version[i])
        field = r.choice(list(vocab.FIELDS))
        title = f"{r.choice(vocab.TOPIC_VERBS)} {r.choice(vocab.TOPIC_OBJECTS[field])}"
        pi = self.world.persons[r.randrange(len(self.world.persons))]
        start = st.created[i] + 86400 * r.randint(0, 90)
        end = start + 86400 * 30 * r.randint(12, 36)
        amount = r.choice((300, 450, 600, 850, 1000, 1200, 1500, 2000, 3000, 5000)) * 1_000_000
        return {
            "id": _JSON_IDS["tasks"] + i,
            "code": self._task_code(i),
            "title": messy(title, r),
            "principal_investigator": person_display(pi, self.world, r, _STYLE)["name"],
            "host_organization": self._org_ref(r.randrange(self.sizes["organizations"]), r),
            "field": field,
            "budget": money_text(amount, r),
            "start_date": date_dmy(start),
            "end_date": "31/04/2022" if res.defect(i) == "impossible_date" else date_dmy(end),
            "status": rv.choice(_TASK_STATUS),
            "results": messy(
                f"Đã công bố {rv.randint(0, 6)} bài báo; {rv.randint(0, 2)} giải pháp hữu ích.", r
            )
            if rv.random() < 0.7
            else "",
            "document_ids": [f"{_ID_PREFIX}{d:08d}" for d in self.task_docs.get(i, [])],
            **self._meta(res, i),
        }

    def _expert(self, i: int) -> dict[str, Any]:
        res = self.resources["experts"]
        st, r = res.state, rng(self.seed, "stinet", "experts", i)
        rv = rng(self.seed, "stinet", "experts", i, st.version[i])
        person = self.world.persons[-1 - self.expert_members.ids[i]]
        d = person_display(person, self.world, r, _STYLE)
        host = self._org_of_world.get(person.affiliation)
        return {
            "id": _JSON_IDS["experts"] + i,
            "full_name": d["name"],
            "degree": d["degree"] if r.random() < 0.6 else None,
            "birth_year": person.birth_year if r.random() < 0.7 else None,
            "gender": person.gender if r.random() < 0.8 else None,
            "organization": {
                "id": _JSON_IDS["organizations"] + host if host is not None else None,
                "name": d["affiliation"],
            },
            "position": person.position,
            "fields": [person.field],
            "specialization": messy(r.choice(vocab.FIELDS[person.field]), r),
            "email": d["email"],
            "phone": d["phone"],
            "publications": rv.randint(0, 120),
            **self._meta(res, i),
        }

    def _lab(self, i: int) -> dict[str, Any]:
        res = self.resources["laboratories"]
        st, r = res.state, rng(self.seed, "stinet", "laboratories", i)
        rv = rng(self.seed, "stinet", "laboratories", i, st.version[i])
        lab = self.world.labs[self.lab_ids[i]]
        relisted = self.lab_ids.index(self.lab_ids[i]) < i
        d = lab_display(lab, self.world, r, _STYLE, st.updated[i], relisted)
        head = self.world.persons[r.randrange(len(self.world.persons))]
        host = self._org_of_world.get(lab.parent)
        if r.random() < 0.2:  # typed in rather than picked from the list of organizations
            host = None
        lab_type = _LAB_TYPES[lab.lab_type]
        return {
            "id": _JSON_IDS["laboratories"] + i,
            "name": d["name"],
            "english_name": d["name_en"],
            "organization": {
                "id": _JSON_IDS["organizations"] + host if host is not None else None,
                "name": d["parent_name"],
            },
            "lab_type": lab_type,
            "vilas_code": f"VILAS {r.randint(100, 1500)}" if "VILAS" in lab_type else None,
            "fields": [d["parent"].field],
            "head": person_display(head, self.world, r, _STYLE)["name"],
            "address": d["address"],
            "phone": d["phone"],
            "email": d["email"],
            "equipment_count": rv.randint(5, 300),
            **self._meta(res, i),
        }

    def _org(self, i: int) -> dict[str, Any]:
        res = self.resources["organizations"]
        st, r = res.state, rng(self.seed, "stinet", "organizations", i)
        org = self.world.orgs[self.org_members.ids[i]]
        d = org_display(org, r, _STYLE, st.updated[i], self.world)
        director = self.world.persons[r.randrange(len(self.world.persons))]
        founded = to_dt(_year_ts(org.founded_year)).replace(
            month=r.randint(1, 12), day=r.randint(1, 28)
        )
        return {
            "id": _JSON_IDS["organizations"] + i,
            "name": d["name"],
            "english_name": d["name_en"],
            "abbreviation": d["abbr"],
            "org_type": _ORG_TYPES.get(org.kind, "Tổ chức KH&CN khác"),
            "tax_code": d["tax"],
            "registration": f"A-{r.randint(1, 2999):04d}" if r.random() < 0.7 else None,
            "founded_date": founded.strftime("%d/%m/%Y") if r.random() < 0.7 else None,
            "address": d["address"],
            "phone": d["phone"],
            "email": d["email"],
            "website": d["website"],
            "director": person_display(director, self.world, r, _STYLE)["name"]
            if r.random() < 0.8
            else None,
            "fields": [org.field],
            **self._meta(res, i),
        }
