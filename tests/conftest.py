import os
import sys

import pytest

import modelops.fluent


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """Every test gets its own default store and a clean module-level API."""
    monkeypatch.setenv("MODELOPS_URI", str(tmp_path / "default-store"))
    monkeypatch.setenv("MODELOPS_SPILL_DIR", str(tmp_path / "spill"))
    modelops.fluent._reset_for_tests()
    yield
    modelops.fluent._reset_for_tests()


@pytest.fixture
def ops(tmp_path):
    return modelops.connect(tmp_path / "store")


@pytest.fixture(params=["file", "memory"])
def any_ops(request, tmp_path):
    """A client on local disk, then on memory."""
    uri = tmp_path / "store" if request.param == "file" else "memory://"
    return modelops.connect(uri)


def python_env(**extra):
    """Environment for a child Python that imports this checkout's modelops."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env.update(extra)
    return env
