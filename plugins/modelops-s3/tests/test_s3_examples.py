"""The S3 examples run against the test run's server, configured through the environment as
a user's machines would be (the code in docs/s3.md is the same as theirs)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

import modelops

EXAMPLES = pathlib.Path(__file__).resolve().parents[3] / "examples"


def _run(name: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True,
                          text=True, timeout=300, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_quickstart(s3_uri):
    out = _run("s3_quickstart.py", s3_uri)
    assert "search found 1 run(s)" in out and "production is 1.0.0" in out
    assert "['amount'] drifted" in out and "logged 500 predictions, 200 with feedback" in out
    ops = modelops.connect(s3_uri)
    assert [v.version for v in ops.registry.list_versions("fraud")] == ["1.0.0"]


def test_quickstart_with_an_explicit_endpoint(s3_uri, s3_server, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    out = _run("s3_quickstart.py", s3_uri, "--endpoint-url", s3_server.endpoint_url)
    assert "production is 1.0.0" in out


@pytest.mark.slow
def test_many_machines(s3_uri):
    out = _run("s3_many_machines.py", s3_uri)
    assert "12 registrations, 12 distinct versions, 12 stored; 8000 predictions stored" in out
    assert "no version claimed twice, nothing lost" in out
