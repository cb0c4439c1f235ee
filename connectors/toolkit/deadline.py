"""A hard deadline per HTTP request: connect, TLS, headers and body together.

Why a watchdog and not only socket timeouts: a socket timeout bounds each single read, so a
server that drips one byte just inside it (in the headers or in a body without
``Content-Length``) holds a worker for as long as it likes. Here every socket a request opens or
reuses is registered with the request's :class:`Deadline`; when the deadline passes, a timer
shuts those sockets down, which wakes the blocked read at once (it sees end-of-stream) and the
request fails as a transient error the caller reports as "no complete response within N s".

The registration happens in urllib3's connection classes (:class:`DeadlineAdapter` installs
them), so it covers reads that ``requests`` makes before handing the response back (status
line and headers) as well as the body.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["Deadline", "DeadlineAdapter"]

_current = threading.local()


class Deadline:
    """Shuts down every socket of the current request once ``seconds`` have passed.

    Use as a context manager around one request (send and read); it applies to the calling
    thread only.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._started = 0.0

    def __enter__(self) -> Deadline:
        self._started = time.monotonic()
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        _current.deadline = None
        with self._lock:
            self._sockets.clear()

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def watch(self, sock: socket.socket | None) -> None:
        """Register a socket of this request (shut down at once if the time is already up)."""
        if sock is None:
            return
        with self._lock:
            if self.expired:
                _shutdown(sock)
            else:
                self._sockets.append(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _watch(sock: Any) -> None:
    deadline: Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None and isinstance(sock, socket.socket):
        deadline.watch(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)  # a kept-alive connection reused by this request
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    """The TLS socket is registered once the handshake is done (the handshake itself is bounded
    by the per-read socket timeout: wrapping detaches the plain socket registered before it)."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)
        return sock

    def connect(self) -> None:
        super().connect()
        _watch(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)
        super().request(*args, **kwargs)


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """An HTTP adapter whose connections report their sockets to the current :class:`Deadline`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {  # type: ignore[assignment]
            "http": _WatchedPool,
            "https": _WatchedHTTPSPool,
        }
