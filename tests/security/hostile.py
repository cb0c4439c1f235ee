"""A hostile portal on loopback, and an attacker's listener that must never hear from us.

:class:`HostilePortal` speaks just enough HTTP/1.1 to misbehave on purpose: each path is a
*scenario*, a function that writes raw bytes to the socket (redirects to the attacker, bodies
of a gigabyte generated lazily, bytes dripped slowly, headers never finished...). Bodies are
streamed from generators and never materialised. :class:`Attacker` is a bare TCP listener that
records every connection it receives: the suite asserts it received none.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

__all__ = ["Attacker", "HostilePortal", "Req", "Scenario", "gzip_bomb"]

GIB = 1 << 30
_BLOCK = b"x" * (64 * 1024)


@dataclass
class Req:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


Scenario = Callable[[Req, "Out"], None]


class Out:
    """The raw socket of one exchange, with helpers to write a status, headers and bodies."""

    def __init__(self, sock: socket.socket, stop: threading.Event) -> None:
        self.sock = sock
        self.stop = stop

    def raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def head(self, status: int, headers: dict[str, str] | None = None) -> None:
        lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.raw(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.head(status, {"Content-Length": str(len(body)), **(headers or {})})
        self.raw(body)

    def stream(self, chunks: Iterator[bytes], *, chunked: bool = False) -> None:
        """Write a (possibly endless) body until it ends, the client leaves or the test ends."""
        try:
            for chunk in chunks:
                if self.stop.is_set():
                    return
                if chunked:
                    self.raw(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                else:
                    self.raw(chunk)
            if chunked:
                self.raw(b"0\r\n\r\n")
        except OSError:
            return

    def drip(self, data: bytes, every: float) -> None:
        """Send ``data`` one byte at a time, ``every`` seconds apart (a slowloris portal)."""
        try:
            for byte in data:
                if self.stop.wait(every):
                    return
                self.raw(bytes([byte]))
        except OSError:
            return


def zeros(total: int) -> Iterator[bytes]:
    """``total`` bytes of filler, produced 64 KiB at a time."""
    sent = 0
    while sent < total:
        block = _BLOCK[: min(len(_BLOCK), total - sent)]
        sent += len(block)
        yield block


def gzip_bomb(inflated: int = 256 << 20) -> bytes:
    """A small gzip member that inflates to ``inflated`` bytes of zeros."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip container
    parts, block = [], bytes(1 << 20)
    for _ in range(inflated >> 20):
        parts.append(compressor.compress(block))
    parts.append(compressor.flush())
    return b"".join(parts)


class HostilePortal:
    """A misbehaving portal: ``routes[path]`` is the scenario that answers that path."""

    def __init__(self) -> None:
        self.routes: dict[str, Scenario] = {}
        self.seen: list[Req] = []
        self.stop = threading.Event()
        portal = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(30)
                reader = self.request.makefile("rb")
                while not portal.stop.is_set():
                    req = _read_request(reader)
                    if req is None:
                        return
                    portal.seen.append(req)
                    scenario = portal.routes.get(req.path, _not_found)
                    try:
                        scenario(req, Out(self.request, portal.stop))
                    except OSError:
                        return

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.stop.set()
        self._server.shutdown()
        self._server.server_close()


def _not_found(req: Req, out: Out) -> None:
    out.reply(404, b"{}")


def _read_request(reader) -> Req | None:  # type: ignore[no-untyped-def]
    try:
        line = reader.readline(65536)
        if not line:
            return None
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            header = reader.readline(65536).decode("latin-1")
            if header in ("\r\n", "\n", ""):
                break
            name, _, value = header.partition(":")
            headers[name.strip()] = value.strip()
        length = int(headers.get("Content-Length") or 0)
        body = reader.read(length) if length else b""
    except (OSError, ValueError):
        return None
    parts = urlsplit(target)
    return Req(method, parts.path, parse_qs(parts.query), headers, body)


@dataclass
class Attacker:
    """A listener on another port: every connection it accepts is a leak (recorded, not served)."""

    hits: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(1.0)
                try:
                    self.hits.append(conn.recv(65536) or b"<connected>")
                except OSError:
                    self.hits.append(b"<connected>")

    def close(self) -> None:
        self._stop.set()
        time.sleep(0.05)  # let a connection that is just arriving be counted
        self._sock.close()
        self._thread.join(timeout=2)
