"""The examples run as a user would run them: against the test server, and on their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Each example is a fresh Python process, some with a server of their own.
pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _run(script: str, *args: str, cwd: Path) -> str:
    env = {**os.environ, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"}
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_quickstart_on_the_server(mlflow_server, tmp_path):
    out = _run("mlflow_quickstart.py", f"mlflow+{mlflow_server}", cwd=tmp_path)
    assert "mlflow.sklearn loads it: True" in out
    assert "drift: ['a'] drifted" in out
    assert "logged 1 prediction(s)" in out
    assert list(tmp_path.iterdir()) == []  # nothing left in the working directory


def test_copy_out_on_its_own(tmp_path):
    out = _run("mlflow_copy_out.py", cwd=tmp_path)
    assert "runs: 1 copied" in out
    assert "second copy added 0 item(s)" in out
    assert "churn: production ['1.0.0']" in out


def test_server_app_on_its_own(tmp_path):
    out = _run("mlflow_server_app.py", cwd=tmp_path)
    assert "registered churn 1.0.0, 1.0.1" in out
    assert "through modelops' app: promote" in out and "through MLflow's API: promote" in out
    assert "one history: 20 events, read alike both ways" in out
    assert "plain MLflow: production is churn 1.0.1, as modelops says: 1.0.1" in out
