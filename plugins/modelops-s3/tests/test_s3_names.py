"""On S3 a name never lands on another name's keys: what s3fs or a URL would cut short is
refused before anything is written."""

from __future__ import annotations

import pytest

import modelops
from modelops import InvalidInput


def _keys(s3_server, uri):
    fs = s3_server.filesystem()
    prefix = uri.removeprefix("s3://")
    return sorted(fs.find(prefix)) if fs.exists(prefix) else []


@pytest.mark.parametrize("name", ["a?versionId=1", "b#frag", "~x", "x\ud800"])
def test_a_name_s3_would_cut_short_is_refused_before_writing(s3_server, s3_uri, name):
    ops = modelops.connect(s3_uri)
    ops.predictions.logger("a").close()  # the name a cut-short key would land on
    with pytest.raises(InvalidInput):
        ops.predictions.logger(name)
    with pytest.raises(InvalidInput):
        ops.tracking.create_experiment(name)
    with pytest.raises(InvalidInput):
        ops.registry.register(name, {"w": 1}, flavor="joblib")
    with pytest.raises(InvalidInput):
        ops.drift.fit_reference(name, {"x": [1.0, 2.0]})
    assert _keys(s3_server, s3_uri) == []
    assert ops.predictions.models() == []
