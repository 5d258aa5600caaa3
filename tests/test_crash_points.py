"""SIGKILL at named points inside the writes, the locked append of the versions log among
them (``MODELOPS_CRASH_AT``, see ``modelops._crash``): every store stays readable, nothing
acknowledged is lost, and the next writer carries on."""

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import python_env

import modelops
from modelops.backends.layout.local import LocalStorage

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not LocalStorage.appends, reason="no flock on this platform")]

REGISTER = """
import sys, modelops
ops = modelops.connect(sys.argv[1])
for i in range(3):
    v = ops.registry.register("m", sys.argv[2], flavor="path", metrics={"i": i})
    print(v.version, flush=True)
"""


def _crash(script, point, *args):
    """Run ``script`` until it reaches ``point``; what it printed before dying."""
    proc = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True,
                          text=True, env=python_env(MODELOPS_CRASH_AT=point), timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    return proc.stdout.split()


@pytest.mark.parametrize(("point", "survives"), [("registry.log.locked@2", False),
                                                 ("registry.log.packed@2", False),
                                                 ("registry.log.appended@2", True)])
def test_a_kill_inside_the_locked_append_leaves_a_readable_writable_log(tmp_path, point,
                                                                        survives):
    source = tmp_path / "weights.bin"
    source.write_bytes(b"weights" * 100)
    store = tmp_path / "store"
    acknowledged = _crash(REGISTER, point, store, source)
    assert acknowledged == ["1.0.0"]
    ops = modelops.connect(store)
    versions = [v.version for v in ops.registry.list_versions("m")]
    # Killed before its line was whole, the version is absent; after, it is there, whole.
    assert versions == (["1.0.0", "1.0.1"] if survives else ["1.0.0"])
    # The lock died with the process: the next register takes the next number at once.
    started = time.monotonic()
    nxt = ops.registry.register("m", str(source), flavor="path")
    assert time.monotonic() - started < 10
    assert nxt.version == ("1.0.2" if survives else "1.0.1")
    for v in ops.registry.list_versions("m"):
        with open(ops.registry.load("m", v.version, dst_dir=str(tmp_path / v.version)),
                  "rb") as f:
            assert f.read() == b"weights" * 100


CREATE = """
import sys, modelops
ops = modelops.connect(sys.argv[1])
ops.tracking.create_experiment("first")
print("created", flush=True)
ops.tracking.create_experiment("second")
"""


def test_a_kill_between_a_temporary_file_and_its_link_leaves_only_a_stale_temp(tmp_path):
    store = tmp_path / "store"
    _crash(CREATE, "storage.create.written@3", store)
    leftover = os.listdir(store / ".tmp")
    assert len(leftover) == 1  # the record of "second", never linked into place
    ops = modelops.connect(store)
    assert [e.name for e in ops.tracking.list_experiments()] == ["first"]
    ops.tracking.create_experiment("second")  # the name was never claimed
    # Once old enough, the leftover goes when a process first opens the store.
    old = time.time() - LocalStorage.STALE_TEMP_SECONDS - 60
    os.utime(store / ".tmp" / leftover[0], (old, old))
    code = "import sys, modelops; modelops.connect(sys.argv[1]).tracking.list_experiments()"
    subprocess.run([sys.executable, "-c", code, str(store)], check=True, env=python_env())
    assert os.listdir(store / ".tmp") == []


LOG = """
import sys, modelops
ops = modelops.connect(sys.argv[1])
run = ops.tracking.start_run(experiment="e", name="r")
print(run.run_id, flush=True)
for i in range(3):
    run.log_metric("m", float(i), step=i)
    run.flush()
"""


def test_a_kill_between_a_segment_and_its_summary_loses_nothing(tmp_path):
    store = tmp_path / "store"
    (run_id,) = _crash(LOG, "tracking.segment.written@3", store)
    ops = modelops.connect(store)
    # Two flushes were acknowledged; the third segment is whole though its summary never
    # was: readers fold it in.
    assert ops.tracking.get_metric_history(run_id, "m").steps.tolist() == [0, 1, 2]
    assert ops.tracking.get_run(run_id).data.metrics == {"m": 2.0}
    assert [r.run_id for r in ops.tracking.search_runs("e")] == [run_id]


PROMOTE = """
import sys, modelops
ops = modelops.connect(sys.argv[1])
for i in range(int(sys.argv[2])):
    ops.registry.set_alias("m", f"a{sys.argv[3]}-{i}", "1.0.0")
"""


def test_processes_meeting_a_torn_newest_event_each_claim_numbers_once(tmp_path):
    """A machine crash cut the newest event short; four processes then change the model at
    once: one sets the torn event aside, every change gets a number of its own."""
    source = tmp_path / "weights.bin"
    source.write_bytes(b"w")
    store = tmp_path / "store"
    ops = modelops.connect(store)
    ops.registry.register("m", str(source), flavor="path")
    ops.registry.promote("m", "1.0.0")
    event = store / "models" / "m" / "events" / "000000000001.json"
    event.write_bytes(event.read_bytes()[:20])
    procs = [subprocess.Popen([sys.executable, "-W", "ignore", "-c", PROMOTE, str(store), "5",
                               str(w)], env=python_env()) for w in range(4)]
    for p in procs:
        assert p.wait(timeout=300) == 0
    history = modelops.connect(store).registry.history("m")
    assert [e.seq for e in history] == list(range(1, 22))
    assert [e.action for e in history].count("quarantined") == 1
    assert len(list((store / "models" / "m" / "quarantine").iterdir())) == 1
