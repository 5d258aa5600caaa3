"""Reference profiles are kept decoded per process: a check decodes the stored profile once,
and a refit — in this process or in another — is picked up by the next check."""

import subprocess
import sys

import numpy as np
import pytest
from conftest import python_env

import modelops
from modelops.backends.layout import drift as layout_drift


@pytest.fixture
def decodes(monkeypatch):
    """How many times a stored profile was decoded."""
    count = []
    real = layout_drift.profile_from_data

    def counting(data):
        count.append(1)
        return real(data)

    monkeypatch.setattr(layout_drift, "profile_from_data", counting)
    return count


def _frames(shift):
    rng = np.random.default_rng(7)
    return {"x": rng.normal(shift, 1, 500), "y": rng.normal(0, 1, 500)}


def test_checks_decode_the_profile_once_and_a_refit_is_seen(tmp_path, decodes):
    ops = modelops.connect(tmp_path / "store")
    first = ops.drift.fit_reference("m", _frames(0))
    reports = [ops.drift.check("m", _frames(0)) for _ in range(3)]
    assert {r.profile_id for r in reports} == {first.profile_id}
    assert len(decodes) == 1
    second = ops.drift.fit_reference("m", _frames(3))
    report = ops.drift.check("m", _frames(3))
    assert report.profile_id == second.profile_id
    assert not report.column("x").drifted  # checked against the refitted reference
    assert len(decodes) == 2


@pytest.mark.slow
def test_a_refit_by_another_process_is_seen(tmp_path, decodes):
    store = tmp_path / "store"
    ops = modelops.connect(store)
    ops.drift.fit_reference("m", _frames(0))
    assert ops.drift.check("m", _frames(3)).column("x").drifted
    code = ("import sys, numpy as np, modelops\n"
            "rng = np.random.default_rng(7)\n"
            "p = modelops.connect(sys.argv[1]).drift.fit_reference(\n"
            "    'm', {'x': rng.normal(3, 1, 500), 'y': rng.normal(0, 1, 500)})\n"
            "print(p.profile_id)\n")
    refit = subprocess.run([sys.executable, "-c", code, str(store)], env=python_env(),
                           capture_output=True, text=True, check=True).stdout.strip()
    report = ops.drift.check("m", _frames(3))
    assert report.profile_id == refit
    assert not report.column("x").drifted


def test_the_kept_profiles_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(layout_drift, "PROFILES_KEPT", 2)
    ops = modelops.connect(tmp_path / "store")
    for name in ("a", "b", "c"):
        ops.drift.fit_reference(name, _frames(0))
        ops.drift.check(name, _frames(0))
    assert list(ops.drift.store._profiles) == ["b", "c"]
