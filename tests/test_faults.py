"""Crashes and concurrent processes: nothing half-written, nothing lost."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import python_env

import modelops
from modelops import RunStatus
from modelops.backends.layout import search_index

pytestmark = pytest.mark.slow

LOGGER = """
import sys, modelops
ops = modelops.connect(sys.argv[1])
run = ops.tracking.start_run(experiment="crash", name="victim")
print(run.run_id, flush=True)
i = 0
while True:
    run.log_metric("m", float(i), step=i)
    if i % 997 == 0:
        run.log_param(f"p{i}", i)
        run.set_tag("last", i)
    i += 1
    if i % 2000 == 0:
        run.flush()
        print(i, flush=True)
"""

CREATOR = """
import sys, modelops
ops = modelops.connect(sys.argv[1])
i = 0
while True:
    with ops.tracking.start_run(experiment="many", name=f"r{i}") as run:
        run.log_params({"i": i, "a": "x"})
        run.log_metrics({"m": float(i), "n": 1.0})
    i += 1
    if i % 10 == 0:
        print(i, flush=True)
"""


def _kill_after(code, store, lines, extra_delay):
    env = python_env(MODELOPS_FLUSH_INTERVAL="0.05")
    proc = subprocess.Popen([sys.executable, "-c", code, str(store)], stdout=subprocess.PIPE,
                            text=True, env=env)
    first = proc.stdout.readline().strip()
    for _ in range(lines):
        assert proc.stdout.readline(), "the child died on its own"
    time.sleep(extra_delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    return first


def _all_json_parses(root):
    for dirpath, _, files in os.walk(root):
        if os.path.basename(dirpath) == ".tmp":
            continue
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                data = f.read()
            if name == "summaries.log":  # JSON lines, each appended whole in one write
                assert data.endswith(b"\n")
                for line in data.splitlines():
                    json.loads(line)
            elif name == "search-index":
                search_index.Table.of_bytes(data).run_ids()
            else:
                json.loads(data)


@pytest.mark.parametrize("delay", [0.0, 0.013, 0.037])
def test_sigkill_while_logging_leaves_a_readable_store(tmp_path, delay):
    run_id = _kill_after(LOGGER, tmp_path, lines=3, extra_delay=delay)
    _all_json_parses(tmp_path)  # every visible file is whole

    ops = modelops.connect(tmp_path)
    run = ops.tracking.get_run(run_id)
    assert run.status is RunStatus.RUNNING
    history = ops.tracking.get_metric_history(run_id, "m")
    n = len(history)
    assert n >= 6000
    # What survived is exactly a prefix of what was logged: no gap, no duplicate.
    assert history.steps.tolist() == list(range(n))
    assert history.values.tolist() == [float(i) for i in range(n)]
    assert run.metrics["m"] == float(n - 1)
    assert ops.tracking.search_runs("crash")[0].run_id == run_id

    # The crashed run can be resumed and closed by someone else.
    with ops.tracking.start_run(run_id=run_id) as resumed:
        resumed.log_metric("m", -1.0, step=n)
    assert ops.tracking.get_run(run_id).status is RunStatus.FINISHED
    assert len(ops.tracking.get_metric_history(run_id, "m")) == n + 1


@pytest.mark.parametrize("delay", [0.0, 0.021])
def test_sigkill_while_creating_runs_leaves_a_readable_store(tmp_path, delay):
    _kill_after(CREATOR, tmp_path, lines=3, extra_delay=delay)
    _all_json_parses(tmp_path)
    ops = modelops.connect(tmp_path)
    runs = ops.tracking.search_runs("many", max_results=50_000)
    assert len(runs) >= 30
    finished = [r for r in runs if r.status is RunStatus.FINISHED]
    assert len(finished) >= len(runs) - 1  # at most the run being written when killed
    for run in finished:
        assert run.params == {"i": run.name[1:], "a": "x"}
        assert run.metrics == {"m": float(run.name[1:]), "n": 1.0}
    for run in runs:
        ops.tracking.get_run(run.run_id)


WORKER = """
import sys, modelops
store, worker, points = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ops = modelops.connect(store)
with ops.tracking.start_run(experiment="shared", name=f"worker-{worker}") as run:
    run.log_params({"worker": worker})
    for i in range(points):
        run.log_metric("m", worker * 1_000_000 + i, step=i)
        if i % 1000 == 0:
            run.log_metrics({"a": i, "b": -i}, step=i)
for j in range(25):
    with ops.tracking.start_run(experiment="shared", name=f"small-{worker}-{j}") as r:
        r.log_metric("j", j)
"""


def test_four_processes_logging_to_one_experiment_lose_nothing(tmp_path):
    points = 30_000
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), str(w), str(points)],
                              env=python_env(MODELOPS_FLUSH_INTERVAL="0.05"))
             for w in range(4)]
    for p in procs:
        assert p.wait(timeout=300) == 0

    ops = modelops.connect(tmp_path)
    assert [e.name for e in ops.tracking.list_experiments()] == ["shared"]
    runs = ops.tracking.search_runs("shared", max_results=50_000)
    assert len(runs) == 4 + 4 * 25
    for w in range(4):
        (run,) = ops.tracking.search_runs("shared", filter=f"attributes.run_name = 'worker-{w}'")
        assert run.status is RunStatus.FINISHED and run.params == {"worker": str(w)}
        history = ops.tracking.get_metric_history(run.run_id, "m")
        assert history.steps.tolist() == list(range(points))
        assert history.values.tolist() == [float(w * 1_000_000 + i) for i in range(points)]
        assert len(ops.tracking.get_metric_history(run.run_id, "a")) == points // 1000
    names = sorted(r.name for r in runs if r.name.startswith("small"))
    assert names == sorted(f"small-{w}-{j}" for w in range(4) for j in range(25))


RACER = """
import sys, modelops
ops = modelops.connect(sys.argv[1])
try:
    print(ops.tracking.create_experiment("contested").experiment_id)
except modelops.AlreadyExists:
    print("lost")
"""


def test_racing_experiment_creation_has_exactly_one_winner(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True, env=python_env())
             for _ in range(6)]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    winners = [o for o in outs if o != "lost"]
    assert len(winners) == 1, outs
    ops = modelops.connect(tmp_path)
    assert ops.tracking.get_experiment("contested").experiment_id == winners[0]
    assert len(os.listdir(tmp_path / "experiments")) == 1  # losers left nothing behind


EXITER = """
import sys, modelops
ops = modelops.connect(sys.argv[1])
run = ops.tracking.start_run(experiment="exit", name="unended")
for i in range(1000):
    run.log_metric("m", float(i), step=i)
modelops.set_uri(sys.argv[1])
with modelops.start_run(name="outer"):
    modelops.log_param("p", 1)
modelops.start_run(name="fluent")
modelops.log_metric("f", 1.0)
print(run.run_id, flush=True)
if sys.argv[2] == "raise":
    raise RuntimeError("boom")
"""


@pytest.mark.parametrize(("how", "status"), [("exit", RunStatus.FINISHED),
                                             ("raise", RunStatus.FAILED)])
def test_interpreter_exit_flushes_and_ends_live_runs(tmp_path, how, status):
    proc = subprocess.run([sys.executable, "-c", EXITER, str(tmp_path), how],
                          capture_output=True, text=True, env=python_env())
    assert (proc.returncode == 0) == (how == "exit"), proc.stderr
    ops = modelops.connect(tmp_path)
    run = ops.tracking.get_run(proc.stdout.strip())
    assert run.status is status
    assert len(ops.tracking.get_metric_history(run.run_id, "m")) == 1000
    (fluent,) = ops.tracking.search_runs("Default", filter="attributes.run_name = 'fluent'")
    assert fluent.status is status and fluent.metrics == {"f": 1.0}
