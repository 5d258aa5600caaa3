"""Fixtures of the serve tests: a store with fraud 1.0.0 in production, and a server of it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from modelops_serve import app
from serve_support import register, serving

import modelops


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("MODELOPS_URI", str(tmp_path / "default-store"))
    monkeypatch.setenv("MODELOPS_SPILL_DIR", str(tmp_path / "spill"))


@pytest.fixture
def store(tmp_path) -> Any:
    """A store where fraud 1.0.0 is in production, with a signature."""
    ops = modelops.connect(tmp_path / "store")
    register(ops)
    return ops


@pytest.fixture
def server(store) -> Iterator[tuple[str, Any]]:
    """(url, app) of a server of fraud@production, polling every 0.1 s."""
    application = app(store, "fraud", poll_interval=0.1)
    with serving(application) as url:
        yield url, application
