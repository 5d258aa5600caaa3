"""Fixtures of the S3 plugin's tests: one real S3 server for the whole test run, on 127.0.0.1.

The server is moto's standalone server in a child process (``modelops_s3.testing``). Every
test gets a fresh key prefix of a shared bucket (``s3_uri``) and the AWS environment
variables that point boto, s3fs and so every child process at the server, exactly as a user
would configure a real endpoint. Faults the server cannot produce are injected by wrapping
the filesystem (``s3_faults.py``).
"""

from __future__ import annotations

import os

import pytest
from modelops_s3.testing import LocalS3Server
from s3_support import BUCKET, fresh_prefix

_AWS_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION",
                  "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONFIG_FILE",
                  "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                  "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE",
                  "AWS_ROLE_ARN", "MODELOPS_URI")


@pytest.fixture(scope="session")
def s3_server():
    """The test run's S3 server, with the bucket ``modelops-tests``; stopped at the end."""
    server = LocalS3Server().start()
    try:
        server.create_bucket(BUCKET)
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def aws_environment(s3_server, monkeypatch, tmp_path):
    """Point every AWS client at the test server, as a user's environment would; no other
    profile or credentials file of the machine can leak in."""
    for name in _AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    for name, value in s3_server.environ().items():
        monkeypatch.setenv(name, value)
    # Entry-point plugins load as configured by the user; make sure ours is among them.
    if os.environ.get("MODELOPS_PLUGINS") not in (None, ""):
        monkeypatch.setenv("MODELOPS_PLUGINS", os.environ["MODELOPS_PLUGINS"] + ",s3")
    else:
        monkeypatch.delenv("MODELOPS_PLUGINS", raising=False)
    from modelops import plugins

    if "s3" not in plugins.available_schemes():  # a manager made before this environment
        plugins.reset()


@pytest.fixture
def s3_uri(request) -> str:
    """``s3://modelops-tests/<fresh prefix>``: an empty store for this test."""
    return f"s3://{BUCKET}/{fresh_prefix(request.node.name)}"
