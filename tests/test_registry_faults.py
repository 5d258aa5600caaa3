"""The registry under races and crashes: no duplicate, no lost version, nothing half-made."""

import signal
import subprocess
import sys
import time

import pytest
from conftest import python_env

import modelops
from modelops import Stage

pytestmark = pytest.mark.slow

REGISTRAR = """
import sys, modelops
store, worker = sys.argv[1], int(sys.argv[2])
ops = modelops.connect(store)
mine = []
for i in range(10):
    v = ops.registry.register("shared", {"worker": worker, "i": i}, flavor="joblib",
                              metrics={"worker": worker, "i": i})
    mine.append(v.version)
try:
    ops.registry.register("shared", {"w": worker}, version="9.9.9", flavor="joblib")
    mine.append("9.9.9")
except modelops.AlreadyExists:
    pass
print(" ".join(mine))
"""


def versions_claimed(script, *argvs):
    """Run ``script`` in one process per argument list, all at once; every version each
    printed (space-separated), after checking that each process succeeded."""
    procs = [subprocess.Popen([sys.executable, "-c", script, *map(str, argv)],
                              stdout=subprocess.PIPE, text=True, env=python_env())
             for argv in argvs]
    claimed = []
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0
        claimed += out.split()
    return claimed


def test_eight_processes_registering_lose_nothing_and_duplicate_nothing(tmp_path):
    pytest.importorskip("joblib")
    claimed = versions_claimed(REGISTRAR, *[(tmp_path, w) for w in range(8)])
    assert len(claimed) == len(set(claimed)) == 8 * 10 + 1  # one winner of 9.9.9
    ops = modelops.connect(tmp_path)
    versions = ops.registry.list_versions("shared")
    assert {v.version for v in versions} == set(claimed)
    # Each version holds exactly what its registrar wrote, verified by digest on load.
    for v in versions:
        if v.version != "9.9.9":
            model = ops.registry.load("shared", v.version)
            assert model == {"worker": int(v.metrics["worker"]), "i": int(v.metrics["i"])}


PROMOTER = """
import sys, modelops
ops = modelops.connect(sys.argv[1])
for i in range(6):
    ops.registry.promote("m", sys.argv[2 + i % 2])
"""


def test_concurrent_promotions_leave_one_production_version_and_a_linear_history(tmp_path):
    pytest.importorskip("joblib")
    ops = modelops.connect(tmp_path)
    for _ in range(8):
        ops.registry.register("m", {"w": 1}, flavor="joblib")
    pairs = [("1.0.0", "1.0.1"), ("1.0.2", "1.0.3"), ("1.0.4", "1.0.5"), ("1.0.6", "1.0.7")]
    procs = [subprocess.Popen([sys.executable, "-c", PROMOTER, str(tmp_path), a, b],
                              env=python_env()) for a, b in pairs]
    for p in procs:
        assert p.wait(timeout=300) == 0
    fresh = modelops.connect(tmp_path).registry
    production = [v for v in fresh.list_versions("m") if v.stage is Stage.PRODUCTION]
    assert len(production) == 1
    history = fresh.history("m")
    assert [e.seq for e in history] == list(range(1, 4 * 6 + 1))
    # Every promotion saw its predecessor: the version it demoted was the holder just before.
    holder = None
    for event in history:
        demoted = [c for c in event.changes if c.before == "production"]
        assert [c.version for c in demoted] == ([holder] if holder not in (
            None, event.payload["version"]) else [])
        holder = event.payload["version"]


SLOW_REGISTRAR = """
import sys, os, modelops
ops = modelops.connect(sys.argv[1])
big = os.path.join(sys.argv[1], "..", "big")
os.makedirs(big, exist_ok=True)
for i in range(40):
    with open(os.path.join(big, f"part{i:02d}.bin"), "wb") as f:
        f.write(os.urandom(1 << 20))
print("ready", flush=True)
while True:
    ops.registry.register("big", big)
"""


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.9])
def test_sigkill_during_register_leaves_no_half_version(tmp_path, delay):
    store = tmp_path / "store"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_REGISTRAR, str(store)],
                            stdout=subprocess.PIPE, text=True, env=python_env())
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    ops = modelops.connect(store)
    try:
        versions = ops.registry.list_versions("big")
    except modelops.NotFound:
        versions = []  # killed before the model record existed
    for v in versions:  # whatever is visible is whole: every digest verifies
        local = ops.registry.load("big", v.version, dst_dir=str(tmp_path / f"dl-{v.version}"))
        assert len(v.files) == 40 and local
    # The store stays writable: the next register claims the next version.
    nxt = ops.registry.register("big", str(tmp_path / "big"))
    assert nxt.version == (max(v.semver for v in versions).bump("patch").core if versions
                           else "1.0.0")


def test_a_record_cut_short_by_a_crash_is_skipped_and_the_log_stays_writable(tmp_path):
    """A writer that dies halfway through appending leaves the start of a line in the log
    (and bytes in the pack that no record names). Readers skip that line; the next register
    starts a line of its own, and every version it and others made loads."""
    source = tmp_path / "model.bin"
    source.write_bytes(bytes(range(256)) * 40)
    ops = modelops.connect(str(tmp_path / "store"))
    first = ops.registry.register("m", str(source), flavor="path")
    log = tmp_path / "store" / "models" / "m" / "versions.log"
    record = log.read_bytes()
    with open(log, "ab") as f:  # what a writer killed mid-append of 1.0.1 leaves
        f.write(record.replace(b'"1.0.0"', b'"1.0.1"')[: len(record) // 2])
    with open(log.parent / "pack", "ab") as f:
        f.write(b"\0" * 100)
    fresh = modelops.connect(str(tmp_path / "store")).registry
    assert [v.version for v in fresh.list_versions("m")] == [first.version]
    second = fresh.register("m", str(source), flavor="path")
    assert second.version == "1.0.1"
    again = modelops.connect(str(tmp_path / "store")).registry
    assert [v.version for v in again.list_versions("m")] == ["1.0.0", "1.0.1"]
    for v in ("1.0.0", "1.0.1"):
        loaded = again.load("m", v, dst_dir=str(tmp_path / v))
        with open(loaded, "rb") as f:
            assert f.read() == source.read_bytes()


def test_a_damaged_record_is_skipped_and_the_versions_around_it_stay(tmp_path):
    """A record whose bytes changed after it was written (a disk fault) fails its checksum:
    that version reads as absent, and the records before and after it are unaffected."""
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights" * 50)
    ops = modelops.connect(str(tmp_path / "store"))
    for _ in range(3):
        ops.registry.register("m", str(source), flavor="path", metrics={"auc": 0.9})
    log = tmp_path / "store" / "models" / "m" / "versions.log"
    data = log.read_bytes()
    second = data.index(b"\n1.0.1\t")
    at = data.index(b"0.9", second)
    log.write_bytes(data[:at] + b"0.8" + data[at + 3:])  # the metric changed on disk
    fresh = modelops.connect(str(tmp_path / "store")).registry
    assert [v.version for v in fresh.list_versions("m")] == ["1.0.0", "1.0.2"]
    with pytest.raises(modelops.NotFound):
        fresh.get_version("m", "1.0.1")
    assert fresh.register("m", str(source), flavor="path").version == "1.0.3"


SAME_BYTES = """
import sys, modelops
ops = modelops.connect(sys.argv[1])
print(" ".join(ops.registry.register("same", sys.argv[2], flavor="path").version
               for _ in range(20)))
"""


def test_processes_registering_the_same_bytes_all_get_whole_versions(tmp_path):
    """Eight processes register one file at once, over and over: every version holds the
    whole file and loads."""
    source = tmp_path / "weights.bin"
    source.write_bytes(bytes(range(256)) * 64)
    store = tmp_path / "store"
    claimed = versions_claimed(SAME_BYTES, *[(store, source)] * 8)
    assert len(claimed) == len(set(claimed)) == 160
    ops = modelops.connect(store)
    for version in claimed:
        loaded = ops.registry.load("same", version, dst_dir=str(tmp_path / "out" / version))
        with open(loaded, "rb") as f:
            assert f.read() == source.read_bytes()


def test_a_log_replaced_underneath_is_read_again(tmp_path):
    """A store restored from an older copy while a process has it open: the process notices
    the log is no longer the one it read, and forgets the versions that went away."""
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights" * 50)
    ops = modelops.connect(str(tmp_path / "store"))
    ops.registry.register("m", str(source), flavor="path")
    log = tmp_path / "store" / "models" / "m" / "versions.log"
    backup = log.read_bytes()
    for _ in range(2):
        ops.registry.register("m", str(source), flavor="path")
    assert len(ops.registry.list_versions("m")) == 3
    log.write_bytes(backup)  # the restore
    assert [v.version for v in ops.registry.list_versions("m")] == ["1.0.0"]
    with pytest.raises(modelops.NotFound):
        ops.registry.get_version("m", "1.0.2")
    assert ops.registry.register("m", str(source), flavor="path").version == "1.0.1"
