"""System metrics: sampled by a daemon thread while a run is active, off by default."""

from __future__ import annotations

import itertools
import sys
import threading
import time

import pytest

import modelops
from modelops.errors import InvalidInput, MissingDependency, StoreWarning
from modelops.tracking import system_metrics

psutil = pytest.importorskip("psutil", reason="pip install 'modelops[system-metrics]'")

CPU = "system/cpu_utilization_percentage"
MEMORY_MB = "system/system_memory_usage_megabytes"
MEMORY_PCT = "system/system_memory_usage_percentage"
INTERVAL = 0.05


@pytest.fixture(autouse=True)
def _settings():
    yield
    system_metrics.disable_system_metrics_logging()
    system_metrics.set_system_metrics_sampling_interval(None)
    modelops.set_uri(None)


def _monitor_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("modelops-system-metrics")]


def test_a_run_samples_the_machine_at_consecutive_steps(ops):
    system_metrics.set_system_metrics_sampling_interval(INTERVAL)
    with ops.tracking.start_run(log_system_metrics=True) as run:
        [thread] = _monitor_threads()
        assert thread.daemon and run.run_id in thread.name
        deadline = time.monotonic() + 20                  # a loaded machine is slow
        while len(ops.tracking.get_metric_history(run.run_id, CPU)) < 3 and \
                time.monotonic() < deadline:
            time.sleep(INTERVAL)
            run.flush()
    assert _monitor_threads() == []                         # stopped with the run
    stored = ops.tracking.get_run(run.run_id)
    history = ops.tracking.get_metric_history(run.run_id, CPU)
    n = len(history)
    assert n >= 3
    assert list(history.steps) == list(range(n))            # one sample per step, in order
    assert all(0.0 <= v <= 100.0 * psutil.cpu_count() for v in history.values)
    total_mb = psutil.virtual_memory().total / 1024 / 1024
    assert 0 < stored.metrics[MEMORY_MB] <= total_mb
    assert 0 < stored.metrics[MEMORY_PCT] <= 100
    for key in ("system/disk_usage_percentage", "system/disk_available_megabytes",
                "system/network_receive_megabytes", "system/network_transmit_megabytes"):
        assert key in stored.metrics and len(ops.tracking.get_metric_history(
            run.run_id, key)) == n                           # every figure at every step
    time.sleep(5 * INTERVAL)                                  # nothing after the end
    assert len(ops.tracking.get_metric_history(run.run_id, CPU)) == n


def test_samples_are_spaced_by_the_interval(ops):
    system_metrics.set_system_metrics_sampling_interval(0.2)
    with ops.tracking.start_run(log_system_metrics=True) as run:
        time.sleep(1.3)
    stamps = ops.tracking.get_metric_history(run.run_id, CPU).timestamps
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert 2 <= len(stamps) <= 7 and all(g >= 150 for g in gaps), stamps


def test_a_training_loop_that_logs_keeps_the_sampler_on_time(ops):
    """A loop calling a scikit-learn model with a DataFrame lets go of the GIL only for
    moments, which kept the sampler waiting for it: one sample in 3 s at a 0.2 s interval.
    The run's logging calls now hand it the GIL when it is late."""
    pd = pytest.importorskip("pandas")
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 4)), columns=list("abcd"))
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, frame["a"] > 0)
    row = frame.head(1)
    system_metrics.set_system_metrics_sampling_interval(0.1)
    with ops.tracking.start_run(log_system_metrics=True) as run:
        start, step = time.monotonic(), 0
        while time.monotonic() - start < 1.5:
            run.log_metric("score", float(model.predict_proba(row)[0, 1]), step=step)
            step += 1
    assert len(ops.tracking.get_metric_history(run.run_id, CPU)) >= 5


def test_off_by_default(ops):
    with ops.tracking.start_run() as run:
        assert _monitor_threads() == []
        time.sleep(3 * INTERVAL)
    assert not [k for k in ops.tracking.get_run(run.run_id).metrics if k.startswith("system/")]


def test_enable_turns_it_on_for_runs_started_afterwards(tmp_path):
    modelops.set_uri(tmp_path / "store")
    modelops.set_system_metrics_sampling_interval(INTERVAL)
    modelops.enable_system_metrics_logging()
    with modelops.start_run() as run:                        # the fluent API follows it
        assert len(_monitor_threads()) == 1
        time.sleep(4 * INTERVAL)
    with modelops.start_run(log_system_metrics=False):       # one run may opt out
        assert _monitor_threads() == []
    modelops.disable_system_metrics_logging()
    with modelops.start_run():
        assert _monitor_threads() == []
    assert CPU in modelops.get_run(run.run_id).metrics


def test_a_failing_run_and_nested_runs_stop_their_threads(ops):
    system_metrics.set_system_metrics_sampling_interval(INTERVAL)
    with pytest.raises(RuntimeError, match="the fit failed"), \
            ops.tracking.start_run(log_system_metrics=True) as outer, \
            ops.tracking.start_run(parent=outer, log_system_metrics=True):
        assert len(_monitor_threads()) == 2
        raise RuntimeError("the fit failed")
    assert _monitor_threads() == []
    assert ops.tracking.get_run(outer.run_id).status.value == "FAILED"


def test_a_resumed_run_samples_again(ops):
    system_metrics.set_system_metrics_sampling_interval(INTERVAL)
    with ops.tracking.start_run() as run:
        pass
    with ops.tracking.start_run(run_id=run.run_id, log_system_metrics=True):
        assert len(_monitor_threads()) == 1
    assert _monitor_threads() == []


def test_a_store_failure_is_a_warning_and_sampling_stops(ops, monkeypatch):
    with ops.tracking.start_run() as run:
        def refuse(*args, **kwargs):
            raise OSError("disk full")

        monkeypatch.setattr(run, "log_metrics", refuse)       # a fault a test cannot cause
        monitor = system_metrics.SystemMetricsMonitor(run, INTERVAL)
        with pytest.warns(StoreWarning, match="disk full"):
            monitor.start()
            monitor._thread.join(timeout=10)
        assert not monitor._thread.is_alive()


def test_gpu_figures_are_left_out_without_nvml(ops, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    with ops.tracking.start_run() as run:
        sample = system_metrics.SystemMetricsMonitor(run, INTERVAL).sample()
    assert CPU in sample and not [k for k in sample if k.startswith("system/gpu_")]


def test_without_psutil_the_extra_is_named_and_no_run_is_started(ops, monkeypatch):
    monkeypatch.setitem(sys.modules, "psutil", None)
    with pytest.raises(MissingDependency, match=r"modelops\[system-metrics\]"):
        ops.tracking.start_run(experiment="e", log_system_metrics=True)
    with pytest.raises(MissingDependency, match=r"pip install modelops\[system-metrics\]"):
        modelops.enable_system_metrics_logging()
    assert ops.tracking.list_experiments() == []
    with ops.tracking.start_run():                           # off: psutil is not needed
        pass


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "10", True])
def test_bad_intervals_and_flags_are_refused(ops, bad):
    with pytest.raises(InvalidInput) as err:
        modelops.set_system_metrics_sampling_interval(bad)
    assert err.value.field == "interval"
    with pytest.raises(InvalidInput) as err:
        ops.tracking.start_run(log_system_metrics="yes")
    assert err.value.field == "log_system_metrics"
