"""Fixtures of the UI's tests: the demo's store, a real server (uvicorn on loopback) over it,
and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from collections.abc import Iterator

import pytest
from ui_support import CHROMIUM, CHROMIUM_ARGS, Server

import modelops

ROOT = pathlib.Path(__file__).resolve().parents[3]


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


@pytest.fixture(scope="session")
def demo_server(demo_store: str) -> Iterator[Server]:
    from modelops_ui import app

    ops = modelops.connect(demo_store)
    with Server(app(ops)) as server:
        server.store = demo_store
        yield server
    ops.close()


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
