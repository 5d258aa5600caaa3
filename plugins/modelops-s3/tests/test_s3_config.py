"""Configuration the AWS way: environment variables, profiles, storage_options; clear errors
for bad URIs and options; the install hint when the plugin is not loaded."""

from __future__ import annotations

import pytest
from modelops_s3 import S3Storage, split_location
from modelops_s3.testing import ACCESS_KEY, SECRET_KEY
from s3_support import BUCKET, fresh_prefix

import modelops
from modelops import plugins
from modelops.errors import InvalidInput, StoreError, UnknownScheme


def _write_and_read(ops: modelops.Client) -> None:
    with ops.tracking.start_run(experiment="config") as run:
        run.log_metric("m", 1.0)
    assert ops.tracking.get_run(run.run_id).metrics == {"m": 1.0}


def _storage(ops: modelops.Client) -> S3Storage:
    storage = ops.store("tracking").storage
    assert isinstance(storage, S3Storage)
    return storage


def test_environment_variables_alone(s3_uri):
    """AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY as boto reads them."""
    _write_and_read(modelops.connect(s3_uri))


def test_storage_options_alone(s3_uri, s3_server, monkeypatch):
    """With no AWS variables at all, ``storage_options`` reach the endpoint."""
    for name in s3_server.environ():
        if name != "AWS_EC2_METADATA_DISABLED":
            monkeypatch.delenv(name)
    ops = modelops.connect(s3_uri, storage_options=s3_server.storage_options())
    _write_and_read(ops)
    assert ops.uri == s3_uri
    # endpoint and region through client_kwargs, credentials by name, as s3fs takes them
    ops = modelops.connect(s3_uri, storage_options={
        "key": ACCESS_KEY, "secret": SECRET_KEY,
        "client_kwargs": {"endpoint_url": s3_server.endpoint_url, "region_name": "eu-west-1"}})
    _write_and_read(ops)
    assert _storage(ops).fs.s3.meta.region_name == "eu-west-1"


def test_a_profile_from_the_aws_config_files(s3_uri, s3_server, monkeypatch, tmp_path):
    """A named profile (credentials, region and endpoint in ~/.aws files), chosen with
    ``storage_options={"profile": ...}`` or ``AWS_PROFILE``."""
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name)
    config, credentials = tmp_path / "aws-config", tmp_path / "aws-credentials"
    config.write_text(f"[profile team]\nregion = eu-central-1\n"
                      f"endpoint_url = {s3_server.endpoint_url}\n")
    credentials.write_text(f"[team]\naws_access_key_id = {ACCESS_KEY}\n"
                           f"aws_secret_access_key = {SECRET_KEY}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    ops = modelops.connect(s3_uri, storage_options={"profile": "team"})
    _write_and_read(ops)
    assert _storage(ops).fs.s3.meta.region_name == "eu-central-1"
    monkeypatch.setenv("AWS_PROFILE", "team")
    _write_and_read(modelops.connect(s3_uri))


def test_anonymous_reads_of_a_public_bucket(s3_server):
    """``anon=True`` reads a public bucket with no credentials at all."""
    bucket = s3_server.create_bucket("modelops-public", public_read=True)
    uri = f"s3://{bucket}/{fresh_prefix('public')}"
    writer = modelops.connect(uri)
    writer.drift.fit_reference("fraud", {"x": [1.0, 2.0, 3.0, 4.0]})
    reader = modelops.connect(uri, storage_options={"anon": True,
                                                    "endpoint_url": s3_server.endpoint_url})
    assert reader.drift.reference("fraud").rows == 4


def test_s3a_is_the_same_store(s3_uri):
    ops = modelops.connect(s3_uri)
    ops.predictions.feedback("fraud", "p1", 1)
    other = modelops.connect(s3_uri.replace("s3://", "s3a://", 1))
    assert other.uri.startswith("s3a://")
    assert other.predictions.models() == ["fraud"]


def test_every_store_kind_and_overrides(s3_uri, tmp_path):
    """All four stores on S3; any kind can come from elsewhere."""
    ops = modelops.connect(s3_uri)
    for kind in ("tracking", "registry", "drift", "predictions"):
        assert isinstance(ops.store(kind).storage, S3Storage)
    mixed = modelops.connect(tmp_path / "local", predictions=s3_uri)
    assert isinstance(mixed.store("predictions").storage, S3Storage)
    assert not isinstance(mixed.store("tracking").storage, S3Storage)


@pytest.mark.parametrize(("path", "match"), [
    ("", "bucket name"),
    ("/prefix", "bucket name"),
    ("a", "not a bucket name"),
    ("bad bucket/p", "not a bucket name"),
    ("-bucket/p", "not a bucket name"),
    ("bucket/a/../b", "'..'"),
    ("bucket/a//b", "empty"),
    ("bucket/a/./b", "'.'"),
    ("bucket/a\x01b", "control characters"),
])
def test_malformed_uris_are_refused(path, match):
    with pytest.raises(InvalidInput, match=match) as info:
        modelops.connect(f"s3://{path}")
    assert info.value.field == "uri"


def test_split_location():
    assert split_location("bucket") == ("bucket", "")
    assert split_location("my.bucket-1/team/mlops/") == ("my.bucket-1", "team/mlops")


@pytest.mark.parametrize("retries", [0, -1, "3", True, 1.5])
def test_bad_retries_option_is_refused(s3_uri, retries):
    with pytest.raises(InvalidInput, match="retries"):
        modelops.connect(s3_uri, storage_options={"retries": retries})


def test_missing_credentials_are_explained(s3_uri, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    ops = modelops.connect(s3_uri)
    with pytest.raises(StoreError, match=r"credentials.*AWS_ACCESS_KEY_ID"):
        ops.tracking.create_experiment("x")


def test_a_missing_bucket_is_explained(monkeypatch):
    ops = modelops.connect("s3://modelops-no-such-bucket/p")
    with pytest.raises(StoreError, match="bucket 'modelops-no-such-bucket' does not exist"):
        ops.tracking.create_experiment("x")


def test_schemes_are_listed():
    assert {"s3", "s3a"} <= set(plugins.available_schemes())


def test_without_the_plugin_the_error_names_the_package(monkeypatch):
    """With entry-point plugins switched off, ``s3://`` says which package to install."""
    monkeypatch.setenv("MODELOPS_PLUGINS", "")
    plugins.reset()
    try:
        with pytest.raises(UnknownScheme, match="pip install modelops-s3"):
            modelops.connect(f"s3://{BUCKET}/p")
    finally:
        monkeypatch.delenv("MODELOPS_PLUGINS")
        plugins.reset()
    assert "s3" in plugins.available_schemes()
