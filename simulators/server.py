"""HTTP serving of a portal simulator: real sockets, threads, faults, admin paths, stats.

Why stdlib ``ThreadingHTTPServer``: no extra dependency, real TCP behaviour (keep-alive,
Content-Length, early close) that connectors must cope with, and start-up in milliseconds.

Admin surface (outside every portal contract, identical on the three portals):

``GET  /_admin/truth``               JSON summary: per resource live / deleted / broken counts
``GET  /_admin/truth/<resource>``    NDJSON, one line per record ever served, streamed:
                                     ``{"key", "version", "updated", "deleted", "entity_id"?,
                                     "defect", "defect_field"}`` — ``updated`` is written exactly
                                     as the portal serves its incremental cursor; ``entity_id``
                                     (world id) on organization and expert resources; ``defect``
                                     names the kind of a deliberately broken live record and
                                     ``defect_field`` the served field it breaks
``GET  /_admin/truth/entities``      NDJSON of the world entities shown by this portal
``POST /_admin/advance``             body ``{"steps": n}`` (default 1): one simulated hour per step
                                     of creates, updates (ties at one timestamp, late arrivals up
                                     to 30 min in the past) and deletes; answers what changed
``GET|POST /_admin/faults``          read / replace the fault configuration (see ``faults``)
``GET  /_admin/stats``               requests served, by status and path, faults fired, bytes
``POST /_admin/change``              body ``{"resource", "key", "op"}``: one ``update`` or
                                     ``delete`` of one live record, at the simulated clock
``GET  /_admin/webhooks``            H.OIP: subscriptions, deliveries, answers, faults fired
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from simulators.portal import Portal, Request, Response, json_response

__all__ = ["App", "SimulatorServer"]

_MAX_BODY = 1 << 20


class Stats:
    """Counters of one simulator (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.time()
        self.requests = 0
        self.by_status: Counter[int] = Counter()
        self.by_path: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.bytes_sent = 0

    def count(self, path: str, status: int, size: int) -> None:
        with self._lock:
            self.requests += 1
            self.by_status[status] += 1
            self.by_path["/".join(path.split("/")[:4])] += 1
            self.bytes_sent += size

    def fault(self, name: str) -> None:
        with self._lock:
            self.faults[name] += 1

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "uptime_seconds": round(time.time() - self.started, 3),
                "requests": self.requests,
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                "by_path": dict(sorted(self.by_path.items())),
                "faults_fired": dict(self.faults),
                "bytes_sent": self.bytes_sent,
            }


class App:
    """Routes a request to the admin surface or, through the fault layer, to the portal."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.stats = Stats()
        self._pages: dict[str, tuple[str, Response]] = {}
        self._pages_lock = threading.Lock()

    def handle(self, req: Request) -> Response:
        if req.path == "/_admin" or req.path.startswith("/_admin/"):
            try:
                return self.admin(req)
            except ValueError as exc:
                return json_response({"error": str(exc)}, 400)
        return self.contract(req)

    # -- admin ---------------------------------------------------------------------------------
    def admin(self, req: Request) -> Response:
        portal, path = self.portal, req.path.rstrip("/")
        if path == "/_admin/truth" and req.method == "GET":
            return json_response(portal.truth_summary())
        if path == "/_admin/truth/entities" and req.method == "GET":
            return Response(
                body=portal.entity_lines(), content_type="application/x-ndjson; charset=utf-8"
            )
        if path.startswith("/_admin/truth/") and req.method == "GET":
            name = path.removeprefix("/_admin/truth/")
            if name not in portal.resources:
                raise ValueError(f"unknown resource {name!r}; valid: {sorted(portal.resources)}")
            return Response(
                body=portal.truth_lines(name), content_type="application/x-ndjson; charset=utf-8"
            )
        if path == "/_admin/advance" and req.method == "POST":
            body = _json_body(req)
            steps = body.get("steps", 1)
            if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= 1000:
                raise ValueError("steps must be an integer between 1 and 1000")
            return json_response(portal.advance(steps))
        if path == "/_admin/faults" and req.method == "GET":
            return json_response(portal.faults.describe())
        if path == "/_admin/faults" and req.method == "POST":
            portal.faults.configure(_json_body(req))
            with self._pages_lock:
                self._pages.clear()
            return json_response(portal.faults.describe())
        if path == "/_admin/change" and req.method == "POST":
            body = _json_body(req)
            return json_response(
                portal.change_record(
                    str(body.get("resource")), str(body.get("key")), str(body.get("op", "update"))
                )
            )
        if path == "/_admin/webhooks" and req.method == "GET":
            hooks = getattr(portal, "webhooks", None)
            if hooks is None:
                raise ValueError(f"{portal.name} has no push interface")
            return json_response(hooks.describe())
        if path == "/_admin/stats" and req.method == "GET":
            return json_response(
                {"portal": portal.name, "step": portal.step, **self.stats.describe()}
            )
        return json_response({"error": f"no admin endpoint {req.method} {req.path}"}, 404)

    # -- contract with faults ------------------------------------------------------------------
    def contract(self, req: Request) -> Response:
        portal, faults, path = self.portal, self.portal.faults, req.path
        eligible = portal.fault_eligible(req)
        if eligible and (spec := faults.fire("rate_limit_burst", path)):
            self.stats.fault("rate_limit_burst")
            return portal.too_many(_retry_after(spec.params))
        if eligible and (spec := faults.fire("server_error", path)):
            self.stats.fault("server_error")
            resp = portal.error(int(spec.params["status"]), "Simulated server failure")
            return resp
        for name in ("timeout", "slow"):
            if eligible and (spec := faults.fire(name, path)):
                self.stats.fault(name)
                time.sleep(float(spec.params["delay"]))
        paging = eligible and portal.is_paging(req)
        if paging and (spec := faults.fire("head_insert", path)):
            self.stats.fault("head_insert")
            portal.head_insert(req, int(spec.params["records"]))
        if eligible and portal.can_expire(req) and faults.fire("expired_token", path):
            self.stats.fault("expired_token")
            portal.expire_token(req)
        resp = portal.dispatch(req)
        resp = self._repeat(resp, path)
        if resp.status == 200 and isinstance(resp.body, bytes) and eligible:
            if spec := faults.fire("truncated", path):
                self.stats.fault("truncated")
                resp = _truncate(resp, spec.params["mode"])
            elif spec := faults.fire("oversized", path):
                self.stats.fault("oversized")
                resp = _oversize(resp, int(spec.params["bytes"]))
        return resp

    def _repeat(self, resp: Response, path: str) -> Response:
        if resp.listing is None or resp.status != 200 or not isinstance(resp.body, bytes):
            return resp
        identity = f"{resp.listing}"
        with self._pages_lock:
            previous = self._pages.get(identity)
            self._pages[identity] = (path, resp)
        if resp.paging and previous is not None and previous[1].body != resp.body:
            if self.portal.faults.fire("repeated_page", path):
                self.stats.fault("repeated_page")
                with self._pages_lock:
                    self._pages[identity] = previous
                return previous[1]
        return resp


def _json_body(req: Request) -> dict[str, Any]:
    if not req.body.strip():
        return {}
    try:
        body = json.loads(req.body)
    except ValueError as exc:
        raise ValueError(f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


def _retry_after(params: dict[str, Any]) -> str:
    seconds = float(params["retry_after"])
    if params["retry_after_format"] == "http-date":
        return formatdate(time.time() + seconds, usegmt=True)
    return str(max(0, round(seconds)))


def _truncate(resp: Response, mode: str) -> Response:
    body = resp.body if isinstance(resp.body, bytes) else b""
    cut = max(1, len(body) // 2)
    if mode == "connection":
        return Response(
            resp.status,
            body[:cut],
            resp.content_type,
            resp.headers,
            length=len(body),
            cut_connection=True,
        )
    return Response(resp.status, body[:cut], resp.content_type, resp.headers)


def _oversize(resp: Response, size: int) -> Response:
    body = resp.body if isinstance(resp.body, bytes) else b""
    xml = "xml" in resp.content_type
    head, tail = (b"<!--", b"-->") if xml else (b'{"padding":"', b'"}')
    prefix = body if xml else b""
    fill = max(0, size - len(prefix) - len(head) - len(tail))

    def chunks() -> Iterator[bytes]:
        yield prefix + head
        block = b"x" * (1 << 20)
        left = fill
        while left > 0:
            yield block[: min(left, len(block))]
            left -= min(left, len(block))
        yield tail

    return Response(
        resp.status,
        chunks(),
        resp.content_type,
        resp.headers,
        length=len(prefix) + len(head) + fill + len(tail),
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ecohub-simulator/1.0"
    app: App

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, _MAX_BODY)) if length else b""
        req = Request(
            self.command,
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            self.headers,
            body,
        )
        try:
            resp = self.app.handle(req)
        except Exception as exc:  # a simulator bug must answer, not hang the client
            resp = json_response({"error": f"simulator failure: {type(exc).__name__}: {exc}"}, 500)
        self._write(req, resp)

    def _write(self, req: Request, resp: Response) -> None:
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        for name, value in resp.headers.items():
            self.send_header(name, value)
        sent = 0
        try:
            if isinstance(resp.body, bytes):
                self.send_header(
                    "Content-Length",
                    str(resp.length if resp.length is not None else len(resp.body)),
                )
                if resp.cut_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
                if req.method != "HEAD":
                    self.wfile.write(resp.body)
                sent = len(resp.body)
                if resp.cut_connection:
                    self.wfile.flush()
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
            elif resp.length is not None:
                self.send_header("Content-Length", str(resp.length))
                self.end_headers()
                for chunk in resp.body:
                    self.wfile.write(chunk)
                    sent += len(chunk)
            else:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in resp.body:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            if not req.path.startswith("/_admin"):
                self.app.stats.count(req.path, resp.status, sent)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class SimulatorServer:
    """One portal simulator listening on a real socket, served from a background thread.

    Use :func:`simulators.start` to build one; ``url`` is its base URL, ``portal`` its name,
    ``app`` the application (portal state, stats). ``stop()`` closes the socket; it is also a
    context manager.
    """

    def __init__(self, portal: Portal, host: str, port: int) -> None:
        self.app = App(portal)
        handler = type("Handler", (_Handler,), {"app": self.app})
        self._httpd = _Server((host, port), handler)
        self.host = host
        self.port = int(self._httpd.server_address[1])
        self.portal = portal.name
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"simulator-{portal.name}",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        self.app.portal.close()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SimulatorServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SimulatorServer(portal={self.portal!r}, url={self.url!r})"
