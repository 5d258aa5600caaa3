"""The robustness suites of modelops.testing on S3 (moto's server on 127.0.0.1): hostile
input, a damaged object, an object store failing its n-th write."""

from __future__ import annotations

import attrs
import pytest
from modelops_s3 import S3Storage
from s3_support import BUCKET, fresh_prefix

from modelops.testing.robustness import BadInputSuite, CorruptionSuite, FaultSuite, Sandbox

pytest.importorskip("joblib")
pytestmark = pytest.mark.slow


@attrs.define
class S3Sandbox(Sandbox):
    """The sandbox as a key prefix of the test bucket; its fingerprint is one listing of
    keys with their ETags (an ETag changes with the bytes)."""

    def world(self):
        out = {}
        start = len(self.parent._dir_key(""))
        for page in self.parent._pages("", delimiter=False):
            for obj in page.get("Contents", ()):
                out[obj["Key"][start:]] = (obj["ETag"], obj["Size"])
        return out


@pytest.fixture
def sandbox(s3_server, request, tmp_path):
    prefix = fresh_prefix(request.node.name)
    parent = S3Storage(s3_server.filesystem(), BUCKET, prefix)
    box = S3Sandbox(parent, f"s3://{BUCKET}/{prefix}/store", scratch=str(tmp_path))
    box.plant_secret()
    return box


class TestS3BadInput(BadInputSuite):
    examples = 100


class TestS3Corruption(CorruptionSuite):
    examples = 20


class TestS3Faults(FaultSuite):
    all_codes = False  # n cycles through ENOSPC, EIO and EROFS
