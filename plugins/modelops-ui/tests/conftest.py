"""Fixtures of the UI's tests: the demo's store, a populated store of hostile names, and a
real server (uvicorn on loopback) for the browser."""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

import modelops

ROOT = pathlib.Path(__file__).resolve().parents[3]
#: Values a user may log that must come back as text: markup, quotes, unicode.
XSS = "<script>alert('x')</script>\"&'<img src=x onerror=alert(1)> ünï 字"


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store the demo filled: runs, a registered model through promotions, a retraining
    cycle and a router, drift reports and a day of logged predictions (about 10 s)."""
    pytest.importorskip("sklearn")
    folder = tmp_path_factory.mktemp("demo")
    subprocess.run([sys.executable, str(ROOT / "examples" / "demo.py"), "--store",
                    str(folder / "store"), "--report", str(folder / "drift.html"),
                    "--monitoring-report", str(folder / "monitoring.html")],
                   check=True, capture_output=True, timeout=300, cwd=folder)
    return str(folder / "store")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn serving an app on 127.0.0.1 in a thread of this process."""

    def __init__(self, application: object) -> None:
        import uvicorn

        self.store = ""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(application, host="127.0.0.1", port=self.port,
                                log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the UI server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def demo_server(demo_store: str) -> Iterator[Server]:
    from modelops_ui import app

    ops = modelops.connect(demo_store)
    with Server(app(ops)) as server:
        server.store = demo_store
        yield server
    ops.close()


CHROMIUM = pathlib.Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (no browser is downloaded)."""
    if not CHROMIUM.exists():
        missing = "Chromium is missing: apt-get install -y chromium (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(missing)   # CI never passes without the browser tests
        pytest.skip(missing)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
