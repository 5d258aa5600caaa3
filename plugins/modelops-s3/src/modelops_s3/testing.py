"""A real S3-compatible server on 127.0.0.1 for tests, examples and benchmarks.

``LocalS3Server`` runs moto's standalone server (``python -m moto.server``, what s3fs's own
test suite uses) in a child process on a free loopback port, and stops it on ``stop()``, on
leaving a ``with`` block, or at interpreter exit at the latest. It needs ``moto[server]``
(``pip install "modelops-s3[test]"``)::

    from modelops_s3.testing import LocalS3Server

    with LocalS3Server() as server:
        server.create_bucket("mlops")
        ops = modelops.connect("s3://mlops/team", storage_options=server.storage_options())

The server keeps everything in memory and forgets it when stopped.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections import Counter
from typing import Any

from modelops.errors import MissingDependency, StoreError

#: Any key and secret work with moto; these make requests signed, as real clients' are.
ACCESS_KEY = "modelops-test-key"
SECRET_KEY = "modelops-test-secret"
REGION = "us-east-1"

_live: weakref.WeakSet[LocalS3Server] = weakref.WeakSet()

# moto's standalone server (``python -m moto.server``), without a log line per request.
_SERVE = (
    "import logging, sys\n"
    "logging.getLogger('werkzeug').setLevel(logging.ERROR)\n"
    "from moto.server import main\n"
    "main(['-H', '127.0.0.1', '-p', sys.argv[1]])\n"
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalS3Server:
    """moto's S3 server on ``127.0.0.1:port`` (a free port unless given), in a child process."""

    def __init__(self, port: int | None = None, *, start_timeout: float = 30.0) -> None:
        self.port = port
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise StoreError("the local S3 server was not started")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalS3Server:
        """Start the server and wait until it answers; returns self."""
        try:
            import moto.server  # noqa: F401
        except ImportError as exc:
            raise MissingDependency("the local S3 server", "moto[server]") from exc
        if self._proc is not None:
            return self
        for attempt in range(3):  # a free port may be taken between choosing and binding
            port = self.port if self.port is not None else free_port()
            proc = subprocess.Popen(
                [sys.executable, "-c", _SERVE, str(port)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env={**os.environ, "MOTO_PORT": str(port)})
            if self._wait_ready(proc, port):
                self.port, self._proc = port, proc
                _live.add(self)
                return self
            _stop(proc)
            if self.port is not None and attempt == 2:
                break
        raise StoreError(f"the local S3 server did not start on 127.0.0.1:{self.port}")

    def _wait_ready(self, proc: subprocess.Popen[bytes], port: int) -> bool:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                    s.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                    if s.recv(12).startswith(b"HTTP/"):
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        """Stop the server (everything it held is gone)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            _stop(proc)
        _live.discard(self)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def storage_options(self, **extra: Any) -> dict[str, Any]:
        """``storage_options`` for ``modelops.connect`` that reach this server."""
        return {"endpoint_url": self.endpoint_url, "key": ACCESS_KEY, "secret": SECRET_KEY,
                **extra}

    def environ(self) -> dict[str, str]:
        """Environment variables with which boto, s3fs and so modelops reach this server
        without any ``storage_options`` (for child processes, say)."""
        # No instance-metadata lookups: credentials and region are all here.
        return {"AWS_ENDPOINT_URL_S3": self.endpoint_url, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": REGION,
                "AWS_EC2_METADATA_DISABLED": "true"}

    def filesystem(self, **extra: Any) -> Any:
        """A new ``s3fs.S3FileSystem`` on this server, with modelops's settings, shared with
        no store."""
        from modelops_s3.location import make_filesystem

        return make_filesystem({**self.storage_options(), **extra}, cache=False)

    def create_bucket(self, name: str, *, public_read: bool = False) -> str:
        """Create a bucket (``public_read``: anyone may read it, as with
        ``storage_options={"anon": True}``); returns its name."""
        fs = self.filesystem()
        kwargs: dict[str, Any] = {"Bucket": name}
        if public_read:
            kwargs["ACL"] = "public-read"
        fs.call_s3("create_bucket", **kwargs)
        return name

    def __enter__(self) -> LocalS3Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LocalS3Server 127.0.0.1:{self.port} {state}>"


_counter_ids = itertools.count()


class RequestCounter:
    """Counts the HTTP requests an s3fs filesystem sends, by S3 operation (retries
    included), through botocore's event hooks::

        with RequestCounter(store.storage.fs) as requests:
            ...
        print(requests.total, requests.counts["PutObject"])

    ``received`` counts the bytes of object bodies received, by operation (the
    ``Content-Length`` of each response: for ``GetObject``, what was downloaded).
    """

    def __init__(self, fs: Any) -> None:
        self.fs = fs
        self.counts: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._id = f"modelops-request-counter-{next(_counter_ids)}"
        self._events: Any = None

    def _on_send(self, **kwargs: Any) -> None:
        operation = str(kwargs.get("event_name", "")).rsplit(".", 1)[-1]
        with self._lock:
            self.counts[operation] += 1
        # Returning None lets the request go (a value would stand in for the response).

    def _on_response(self, **kwargs: Any) -> None:
        operation = str(kwargs.get("event_name", "")).rsplit(".", 1)[-1]
        parsed = kwargs.get("parsed") or {}
        length = parsed.get("ContentLength") if isinstance(parsed, dict) else None
        if isinstance(length, int):
            with self._lock:
                self.received[operation] += length

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.received.clear()

    def __enter__(self) -> RequestCounter:
        self.fs.connect()
        self._events = self.fs.s3.meta.events
        self._events.register("before-send.s3", self._on_send, unique_id=self._id)
        self._events.register("after-call.s3", self._on_response,
                              unique_id=self._id + "-received")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._events is not None:
            self._events.unregister("before-send.s3", unique_id=self._id)
            self._events.unregister("after-call.s3", unique_id=self._id + "-received")
            self._events = None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@atexit.register
def _stop_all() -> None:
    for server in list(_live):
        with contextlib.suppress(Exception):
            server.stop()
