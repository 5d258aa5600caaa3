"""Faults for the S3 tests, as real as they can be made.

- ``FlakyProxy``: a TCP proxy on 127.0.0.1 in front of the S3 server. ``cut()`` makes the
  endpoint unreachable (connections refused, open ones reset) until ``restore()``;
  ``drop_after(n)`` resets the next connection once ``n`` bytes of its request went through
  (a connection dropped mid-upload). These are real network faults, seen by the real client.
- ``FaultyFS``: wraps an s3fs filesystem and makes named calls fail the way s3fs surfaces
  what the server cannot be made to answer: throttling (503 SlowDown), server errors (500
  InternalError), a connection closed before the answer — optionally *after* the request
  reached the server, so the write happened but its answer was lost.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from modelops_s3.testing import free_port

# -- errors as s3fs raises them ---------------------------------------------------------------


def client_error(code: str, status: int, message: str = "", operation: str = "PutObject"
                 ) -> OSError:
    """The exception s3fs raises for an S3 error response: its translation of botocore's
    ``ClientError`` (an ``OSError`` whose ``__cause__`` is the ``ClientError``)."""
    from botocore.exceptions import ClientError
    from s3fs.errors import translate_boto_error

    error = ClientError({"Error": {"Code": code, "Message": message or code},
                         "ResponseMetadata": {"HTTPStatusCode": status}}, operation)
    return translate_boto_error(error)


def throttled() -> OSError:
    return client_error("SlowDown", 503, "Please reduce your request rate.")


def server_error() -> OSError:
    return client_error("InternalError", 500, "We encountered an internal error.")


def access_denied() -> OSError:
    return client_error("AccessDenied", 403, "Access Denied")


def connection_closed() -> Exception:
    from botocore.exceptions import ConnectionClosedError

    return ConnectionClosedError(endpoint_url="http://127.0.0.1")


# -- a filesystem that fails on cue -------------------------------------------------------------

_WRAPPED = {"cat_file", "pipe_file", "put_file", "get_file", "call_s3"}


class _Fault:
    def __init__(self, method: str, make: Callable[[], BaseException], times: int,
                 after: bool, when: Callable[..., bool] | None) -> None:
        self.method = method
        self.make = make
        self.left = times
        self.after = after
        self.when = when


class FaultyFS:
    """An s3fs filesystem whose calls fail as planned with ``fail(...)``; everything else is
    the real filesystem talking to the real server. ``calls`` counts calls by method."""

    def __init__(self, fs: Any) -> None:
        self._fs = fs
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.injected = 0

    def fail(self, method: str, make: Callable[[], BaseException], *, times: int = 1,
             after: bool = False, when: Callable[..., bool] | None = None) -> None:
        """Make the next ``times`` calls of ``method`` (for which ``when(*args, **kwargs)``
        holds) raise ``make()``; with ``after``, the call is made first and its answer
        lost."""
        with self._lock:
            self._faults.append(_Fault(method, make, times, after, when))

    def heal(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
              ) -> _Fault | None:
        with self._lock:
            self.calls[method] += 1
            for fault in self._faults:
                if fault.method == method and fault.left > 0 and \
                        (fault.when is None or fault.when(*args, **kwargs)):
                    fault.left -= 1
                    self.injected += 1
                    return fault
        return None

    def _call(self, method: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        fault = self._take(method, args, kwargs)
        if fault is not None and not fault.after:
            raise fault.make()
        result = fn(*args, **kwargs)
        if fault is not None:
            raise fault.make()
        return result

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._fs, name)
        if name in _WRAPPED:
            return functools.partial(self._call, name, attr)
        return attr


# -- a proxy that loses the network ---------------------------------------------------------------


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset, as a dropped connection looks to the peer."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class FlakyProxy:
    """A TCP proxy from ``127.0.0.1:<port>`` to ``127.0.0.1:<upstream_port>``."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._drop_after: list[int] = []
        self.dropped = 0
        self.connections = 0

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FlakyProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        """Unreachable from now on: new connections are refused, open ones reset."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            _reset(conn)

    def restore(self) -> None:
        """Reachable again, on the same port."""
        if self._listener is None:
            self.start()

    def stop(self) -> None:
        self.cut()

    def drop_after(self, nbytes: int, times: int = 1) -> None:
        """Reset each of the next ``times`` connections once ``nbytes`` of its request
        reached the server."""
        with self._lock:
            self._drop_after += [nbytes] * times

    def clear_drops(self) -> None:
        """Forget the drops not made yet."""
        with self._lock:
            self._drop_after.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut or stopped
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self.connections += 1
                self._conns.update((client, upstream))
                limit = self._drop_after.pop(0) if self._drop_after else None
            threading.Thread(target=self._pump, args=(client, upstream, limit),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, None),
                             daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)
                    return
                if limit is not None and sent + len(data) >= limit:
                    dst.sendall(data[:max(0, limit - sent)])
                    with self._lock:
                        self.dropped += 1
                    _reset(src)
                    _reset(dst)
                    return
                dst.sendall(data)
                sent += len(data)
        except OSError:
            _reset(src)
            _reset(dst)
        finally:
            with self._lock:
                self._conns.discard(src)
