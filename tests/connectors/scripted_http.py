"""Scripted HTTP servers on real loopback sockets for the connector tests.

A :class:`ScriptedServer` answers each path from a script of :class:`Reply` objects (the last
one repeats), or from a function of the request; it records every request it received,
headers included, so tests can assert on what was sent (and what was not)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    declared_length: int | None = None  # lie about Content-Length (truncated body)
    chunked: bool = False  # stream without Content-Length

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, ensure_ascii=False).encode()


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


Script = list[Reply] | Callable[[Seen], Reply]


class ScriptedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Script] = {}
        self.fallback: Callable[[Seen], Reply] | None = None
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    dict(self.headers.items()),
                    self.rfile.read(length) if length else b"",
                )
                reply = server.next_reply(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.payload()
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json; charset=utf-8", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                if reply.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for start in range(0, len(data), 4096):
                        chunk = data[start : start + 4096]
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self.send_header("Content-Length", str(reply.declared_length or len(data)))
                self.end_headers()
                self.wfile.write(data)
                if reply.declared_length:
                    self.close_connection = True

            do_GET = _serve
            do_POST = _serve

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients hanging up early (size caps, timeouts) are part of the tests

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def route(self, path: str, script: Script) -> None:
        self.routes[path] = script if callable(script) else list(script)

    def next_reply(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            script = self.routes.get(seen.path)
            if script is None:
                if self.fallback is not None:
                    return self.fallback(seen)
                return Reply(404, {"error": "not found"})
            if callable(script):
                return script(seen)
            return script.pop(0) if len(script) > 1 else script[0]

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
