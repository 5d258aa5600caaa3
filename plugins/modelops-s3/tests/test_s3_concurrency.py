"""Many machines, one bucket: processes that share nothing but the S3 endpoint."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import modelops

REGISTER = textwrap.dedent("""
    import json, os, sys, tempfile, time
    import modelops

    uri, barrier, index, count, each = sys.argv[1:6]
    index, count, each = int(index), int(count), int(each)
    ops = modelops.connect(uri)           # the endpoint comes from AWS_ENDPOINT_URL_S3
    work = tempfile.mkdtemp()
    open(os.path.join(barrier, str(index)), "w").close()
    deadline = time.monotonic() + 60
    while len(os.listdir(barrier)) < count and time.monotonic() < deadline:
        time.sleep(0.001)
    got = []
    for k in range(each):
        path = os.path.join(work, f"model-{k}.txt")
        with open(path, "w") as f:
            f.write(f"process {index} model {k}")
        version = ops.registry.register("fraud", path, tags={"writer": f"{index}/{k}"})
        got.append(version.version)
    print(json.dumps(got))
""")


@pytest.mark.slow
def test_four_processes_registering_versions_of_one_model(s3_uri, tmp_path):
    """4 processes register 5 versions each of one model at once, letting the registry pick
    the next version number: 20 distinct versions, none claimed twice, none lost, each
    holding the bytes of the registration that claimed it."""
    count, each = 4, 5
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", REGISTER, s3_uri, str(barrier), str(i),
                               str(count), str(each)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(count)]
    claimed = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        claimed.append(json.loads(out.strip().splitlines()[-1]))
    every = [v for got in claimed for v in got]
    assert len(every) == len(set(every)) == count * each, claimed
    registry = modelops.connect(s3_uri).registry
    versions = registry.list_versions("fraud")
    assert sorted(v.version for v in versions) == sorted(every)
    assert sorted(v.version for v in versions) == \
        sorted(f"1.0.{n}" for n in range(count * each))
    for i, got in enumerate(claimed):
        for k, version in enumerate(got):
            record = registry.get_version("fraud", version)
            assert record.tags["writer"] == f"{i}/{k}"
            with open(registry.load("fraud", version, dst_dir=str(tmp_path / version))) as f:
                assert f.read() == f"process {i} model {k}"


def test_two_clients_promote_without_forking_the_history(s3_uri, tmp_path):
    """Two clients (as two machines) promoting different versions at once leave one linear
    history in which exactly one version serves production."""
    from modelops.testing.base import in_threads

    a, b = modelops.connect(s3_uri), modelops.connect(s3_uri)
    for n in range(2):
        path = tmp_path / f"m{n}.txt"
        path.write_text(str(n))
        a.registry.register("fraud", str(path))
    in_threads(2, lambda i: (a, b)[i].registry.promote("fraud", f"1.0.{i}",
                                                       stage="production"))
    history = modelops.connect(s3_uri).registry.history("fraud")
    assert [e.seq for e in history] == list(range(1, len(history) + 1))
    stages = {v.version: v.stage.value for v in modelops.connect(s3_uri).registry
              .list_versions("fraud")}
    assert sorted(stages.values()) == ["archived", "production"]
