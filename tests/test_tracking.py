import json
import math
import os
import time

import numpy as np
import pytest

import modelops
from modelops import (
    AlreadyExists,
    Conflict,
    FilterSyntaxError,
    InvalidInput,
    NotFound,
    ParamConflict,
    RunStatus,
)


def test_run_context_finishes_and_records_everything(any_ops):
    with any_ops.tracking.start_run(experiment="training", name="rf-200",
                                    tags={"team": "fraud"}) as run:
        run.log_params({"n_estimators": 200, "criterion": "gini"})
        run.log_metric("loss", 0.31, step=1)
        run.log_metrics({"accuracy": 0.92, "f1": 0.91})
        run.set_tag("stage", "dev")
    stored = any_ops.tracking.get_run(run.run_id)
    assert stored.status is RunStatus.FINISHED
    assert stored.info.end_time >= stored.info.start_time > 0
    assert stored.name == "rf-200"
    assert stored.params == {"n_estimators": "200", "criterion": "gini"}
    assert stored.metrics == {"loss": 0.31, "accuracy": 0.92, "f1": 0.91}
    assert {k: v for k, v in stored.tags.items() if not k.startswith("modelops.")} == \
        {"team": "fraud", "stage": "dev"}
    assert any_ops.tracking.get_experiment("training").experiment_id == stored.info.experiment_id


def test_exception_marks_failed_and_is_reraised(ops):
    with pytest.raises(ZeroDivisionError), ops.tracking.start_run(experiment="e") as run:
        run.log_metric("before", 1.0)
        1 / 0  # noqa: B018
    stored = ops.tracking.get_run(run.run_id)
    assert stored.status is RunStatus.FAILED
    assert stored.metrics == {"before": 1.0}


def test_keyboard_interrupt_marks_killed(ops):
    with pytest.raises(KeyboardInterrupt), ops.tracking.start_run(experiment="e") as run:
        raise KeyboardInterrupt
    assert ops.tracking.get_run(run.run_id).status is RunStatus.KILLED


def test_nested_runs_and_resume(ops):
    with ops.tracking.start_run(experiment="e", name="parent") as parent, \
            ops.tracking.start_run(experiment="e", name="child", parent=parent) as child:
        child.log_metric("m", 1.0)
    assert ops.tracking.get_run(child.run_id).info.parent_run_id == parent.run_id
    children = ops.tracking.search_runs("e", filter=f"attributes.parent_run_id = '{parent.run_id}'")
    assert [r.run_id for r in children] == [child.run_id]

    with ops.tracking.start_run(run_id=parent.run_id) as resumed:
        assert ops.tracking.get_run(parent.run_id).status is RunStatus.RUNNING
        resumed.log_metric("later", 2.0)
    stored = ops.tracking.get_run(parent.run_id)
    assert stored.status is RunStatus.FINISHED and stored.metrics["later"] == 2.0


def test_unknown_parent_is_refused_before_writing(ops):
    with pytest.raises(NotFound):
        ops.tracking.start_run(experiment="e", parent="0" * 32)
    assert ops.tracking.list_experiments() == []  # not even the experiment was made


def test_params_are_immutable(ops):
    with ops.tracking.start_run(experiment="e") as run:
        run.log_param("lr", 0.1)
        run.log_param("lr", 0.1)  # the same value again is fine
        with pytest.raises(ParamConflict, match=r"'lr'.*immutable"):
            run.log_params({"depth": 3, "lr": 0.2})
    # The refused call wrote nothing, not even its valid part.
    assert ops.tracking.get_run(run.run_id).params == {"lr": "0.1"}
    with ops.tracking.start_run(run_id=run.run_id) as resumed, pytest.raises(ParamConflict):
        resumed.log_param("lr", 0.3)


def test_special_floats_round_trip_exactly(any_ops):
    values = [math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308,
              0.1 + 0.2]
    with any_ops.tracking.start_run(experiment="e") as run:
        for step, v in enumerate(values):
            run.log_metric("x", v, step=step)
    history = any_ops.tracking.get_metric_history(run.run_id, "x")
    assert history.steps.tolist() == list(range(len(values)))
    got = history.values.tolist()
    assert math.isnan(got[0])
    assert got[1:] == values[1:]
    assert math.copysign(1.0, got[4 - 1]) == -1.0  # -0.0 keeps its sign


def test_latest_metric_is_highest_step_then_timestamp(ops):
    with ops.tracking.start_run(experiment="e") as run:
        run.log_metric("m", 5.0, step=10, timestamp=1000)
        run.log_metric("m", 1.0, step=3, timestamp=2000)
        run.log_metric("m", 7.0, step=10, timestamp=1500)
        run.flush()
        run.log_metric("m", 9.0, step=2)
    latest = ops.tracking.get_run(run.run_id).data.latest["m"]
    assert (latest.value, latest.step, latest.timestamp) == (7.0, 10, 1500)


@pytest.mark.parametrize("call", [
    lambda r: r.log_metric("../escape", 1.0),
    lambda r: r.log_metric("m", "not a number"),
    lambda r: r.log_metric("m", 1.0, step=1.5),
    lambda r: r.log_param("bad\x00key", 1),
    lambda r: r.set_tag("t", "x" * 8001),
    lambda r: r.log_metrics({"ok": 1.0, "bad\nkey": 2.0}),
])
def test_invalid_input_is_refused_before_anything_is_written(ops, call):
    with ops.tracking.start_run(experiment="e") as run, pytest.raises(InvalidInput):
        call(run)
    stored = ops.tracking.get_run(run.run_id)
    assert stored.metrics == {} and stored.params == {}
    assert not [k for k in stored.tags if not k.startswith("modelops.")]


@pytest.mark.parametrize("name", ["../evil", "a/b", "nul\x00", "", "x" * 201, ".."])
def test_invalid_experiment_names_write_nothing(ops, tmp_path, name):
    with pytest.raises(InvalidInput, match="experiment"):
        ops.tracking.start_run(experiment=name)
    assert ops.tracking.list_experiments() == []
    assert not (tmp_path / "evil").exists()


def test_experiments_create_list_delete_restore(ops):
    a = ops.tracking.create_experiment("a", tags={"owner": "me"})
    ops.tracking.create_experiment("b")
    with pytest.raises(AlreadyExists):
        ops.tracking.create_experiment("a")
    assert [e.name for e in ops.tracking.list_experiments()] == ["a", "b"]
    assert ops.tracking.get_experiment(a.experiment_id).tags == {"owner": "me"}
    ops.tracking.delete_experiment("a")
    assert [e.name for e in ops.tracking.list_experiments()] == ["b"]
    assert [e.name for e in ops.tracking.list_experiments("deleted_only")] == ["a"]
    with pytest.raises(Conflict, match="deleted"):
        ops.tracking.start_run(experiment=a)
    with pytest.raises(AlreadyExists):
        ops.tracking.create_experiment("a")
    ops.tracking.restore_experiment("a")
    assert [e.name for e in ops.tracking.list_experiments()] == ["a", "b"]
    with pytest.raises(NotFound):
        ops.tracking.get_experiment("missing")


def _populate(ops, n=25):
    ids = []
    for i in range(n):
        with ops.tracking.start_run(experiment="search", name=f"run-{i:02d}") as run:
            run.log_params({"model": "rf" if i % 2 else "lr", "n": i})
            run.log_metrics({"f1": i / n, "loss": 1 - i / n})
            run.set_tag("parity", "odd" if i % 2 else "even")
        ids.append(run.run_id)
    return ids


def test_search_filter_order_and_pages(any_ops):
    ids = _populate(any_ops)
    found = any_ops.tracking.search_runs(
        "search", filter="metrics.f1 > 0.5 and params.model = 'rf'",
        order_by=["metrics.f1 DESC"])
    assert [r.name for r in found] == [f"run-{i:02d}" for i in (23, 21, 19, 17, 15, 13)]

    seen, token = [], None
    while True:
        page = any_ops.tracking.search_runs("search", max_results=10, page_token=token,
                                            order_by=["attributes.run_name ASC"])
        seen += [r.run_id for r in page]
        token = page.token
        if token is None:
            break
    assert seen == ids

    table = found.to_table()
    assert table[0]["metrics.f1"] == 23 / 25 and table[0]["params.model"] == "rf"
    assert any_ops.tracking.search_runs(
        "search", filter="tags.parity LIKE 'ev%' and attributes.status = 'FINISHED'",
        max_results=1000).__len__() == 13


def test_search_as_dataframe(ops):
    pd = pytest.importorskip("pandas")
    _populate(ops, 4)
    frame = ops.tracking.search_runs("search", order_by=["params.n"]).to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert frame["metrics.f1"].tolist() == [0.0, 0.25, 0.5, 0.75]


def test_search_output_pandas(ops):
    pd = pytest.importorskip("pandas")
    _populate(ops, 4)
    runs = ops.tracking.search_runs("search", order_by=["params.n"], max_results=3)
    frame = ops.tracking.search_runs("search", order_by=["params.n"], max_results=3,
                                     output="pandas")
    assert isinstance(frame, pd.DataFrame)
    assert frame["run_id"].tolist() == [r.run_id for r in runs]
    assert frame.attrs["token"] == runs.token is not None
    assert list(frame.columns[:8]) == ["run_id", "run_name", "experiment_id", "status",
                                       "start_time", "end_time", "user", "parent_run_id"]
    assert {"params.n", "metrics.f1"} <= set(frame.columns)
    empty = ops.tracking.search_runs("search", filter="metrics.f1 > 5", output="pandas")
    assert len(empty) == 0 and "run_id" in empty.columns
    modelops.set_uri(ops.uri)
    modelops.set_experiment("search")
    fluent = modelops.search_runs(filter="metrics.f1 >= 0.5", order_by=["metrics.f1"],
                                  output="pandas")
    assert fluent["metrics.f1"].tolist() == [0.5, 0.75]
    with pytest.raises(InvalidInput) as err:
        modelops.search_runs(output="polars")
    assert err.value.field == "output"


def test_search_output_pandas_without_pandas(ops, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pandas", None)  # as if it were not installed
    with pytest.raises(modelops.MissingDependency, match="pandas"):
        ops.tracking.search_runs(output="pandas")


def test_bad_filter_points_at_the_token(ops):
    _populate(ops, 1)
    with pytest.raises(FilterSyntaxError) as err:
        ops.tracking.search_runs("search", filter="metrics.f1 > 0.5 and params.x = 3")
    assert err.value.position == len("metrics.f1 > 0.5 and params.x = ")
    assert "^" in str(err.value)


def test_deleted_runs_leave_and_return_to_search(ops):
    ids = _populate(ops, 3)
    ops.tracking.delete_run(ids[0])
    assert {r.run_id for r in ops.tracking.search_runs("search")} == set(ids[1:])
    assert [r.run_id for r in ops.tracking.search_runs("search", view="deleted_only")] == ids[:1]
    assert ops.tracking.get_run(ids[0]).info.lifecycle_stage.value == "deleted"
    ops.tracking.restore_run(ids[0])
    assert len(ops.tracking.search_runs("search")) == 3


def test_search_sees_runs_written_by_another_client(tmp_path):
    first = modelops.connect(tmp_path)
    _populate(first, 20)
    other = modelops.connect(tmp_path)
    assert len(other.tracking.search_runs("search")) == 20
    with first.tracking.start_run(experiment="search", name="late") as run:
        run.log_metric("f1", 2.0)
    best = other.tracking.search_runs("search", order_by=["metrics.f1 DESC"], max_results=1)
    assert best[0].name == "late"
    first.tracking.delete_run(run.run_id)
    assert "late" not in [r.name for r in other.tracking.search_runs("search")]


def test_compare_shows_differing_params_and_metrics(ops):
    ids = _populate(ops, 3)
    comparison = ops.tracking.compare(ids)
    assert comparison.params_differing == {"model": ("lr", "rf", "lr"), "n": ("0", "1", "2")}
    assert comparison.metrics["f1"] == (0.0, 1 / 3, 2 / 3)
    assert comparison.best("f1").run_id == ids[2]
    assert comparison.best("loss", mode="min").run_id == ids[2]
    text = str(comparison)
    assert "params.model" in text and "run-02" in text


def test_cleanup_deletes_only_old_ended_runs(ops):
    ids = _populate(ops, 3)
    running = ops.tracking.start_run(experiment="search")
    time.sleep(0.05)
    assert ops.tracking.cleanup("search", older_than="1d") == []
    dry = ops.tracking.cleanup("search", older_than="0s", dry_run=True)
    assert sorted(dry) == sorted(ids)
    assert len(ops.tracking.search_runs("search")) == 4
    assert sorted(ops.tracking.cleanup("search", older_than="0s")) == sorted(ids)
    assert [r.run_id for r in ops.tracking.search_runs("search")] == [running.run_id]
    purged = ops.tracking.cleanup("search", older_than=0, permanently=True)
    assert sorted(purged) == sorted(ids)
    with pytest.raises(NotFound):
        ops.tracking.get_run(ids[0])
    running.end()
    with pytest.raises(InvalidInput, match="older_than"):
        ops.tracking.cleanup("search", older_than="soon")


def test_artifacts_files_dirs_dicts_text_figures(any_ops, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("A")
    (src / "sub" / "b.bin").write_bytes(b"\x00\x01")

    class Figure:
        def savefig(self, buffer, format):
            buffer.write(f"fake {format}".encode())

    with any_ops.tracking.start_run(experiment="e") as run:
        run.log_artifact(src / "a.txt")
        run.log_artifact(src / "a.txt", artifact_path="copies")
        run.log_artifacts(src, artifact_path="tree")
        run.log_dict({"x": [1, 2]}, "config.json")
        run.log_text("hello", "notes/readme.md")
        run.log_figure(Figure(), "plots/roc.png")
        with pytest.raises(InvalidInput):
            run.log_text("x", "../outside.txt")
        with pytest.raises(NotFound):
            run.log_artifact(tmp_path / "missing.txt")
    t = any_ops.tracking
    assert [(a.path, a.is_dir) for a in t.list_artifacts(run.run_id)] == [
        ("a.txt", False), ("config.json", False), ("copies", True), ("notes", True),
        ("plots", True), ("tree", True)]
    assert [a.path for a in t.list_artifacts(run.run_id, "tree/sub")] == ["tree/sub/b.bin"]
    assert json.loads(t.read_text(run.run_id, "config.json")) == {"x": [1, 2]}
    assert t.read_text(run.run_id, "plots/roc.png") == "fake png"
    out = t.download_artifacts(run.run_id, "tree", str(tmp_path / "dl"))
    with open(os.path.join(out, "sub", "b.bin"), "rb") as f:
        assert f.read() == b"\x00\x01"
    with pytest.raises(NotFound):
        t.download_artifacts(run.run_id, "nope.txt", str(tmp_path / "dl2"))


def test_real_matplotlib_figure(ops):
    plt = pytest.importorskip("matplotlib.pyplot")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    with ops.tracking.start_run(experiment="e") as run:
        run.log_figure(fig, "line.png")
    plt.close(fig)
    path = ops.tracking.download_artifacts(run.run_id, "line.png")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_background_flush_makes_data_visible_before_the_run_ends(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELOPS_FLUSH_INTERVAL", "0.1")
    from modelops.tracking import flusher

    monkeypatch.setattr(flusher, "_flusher", flusher._Flusher())
    ops = modelops.connect(tmp_path)
    run = ops.tracking.start_run(experiment="e")
    run.log_metric("m", 1.0)
    other = modelops.connect(tmp_path)
    deadline = time.time() + 5
    while other.tracking.get_run(run.run_id).metrics != {"m": 1.0}:
        assert time.time() < deadline, "the background flusher never wrote the metric"
        time.sleep(0.05)
    run.end()


def test_the_flusher_keeps_its_pace_beside_a_busy_training_loop(tmp_path, monkeypatch):
    """A loop that keeps the GIL but lets go of it for moments (a scikit-learn model called
    with a DataFrame) left the flusher waiting for the GIL as long as it ran: nothing stored
    while the run lived, so a crash lost it all. Its logging calls now hand the flusher the
    GIL when it is late."""
    pd = pytest.importorskip("pandas")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from modelops.tracking import flusher

    monkeypatch.setenv("MODELOPS_FLUSH_INTERVAL", "0.1")
    monkeypatch.setattr(flusher, "_flusher", flusher._Flusher())
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 4)), columns=list("abcd"))
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, frame["a"] > 0)
    row = frame.head(1)
    ops, other = modelops.connect(tmp_path), modelops.connect(tmp_path)
    with ops.tracking.start_run(experiment="e") as run:
        start, step = time.monotonic(), 0
        while time.monotonic() - start < 1.5:
            run.log_metric("score", float(model.predict_proba(row)[0, 1]), step=step)
            step += 1
        stored = len(other.tracking.store.get_metric_history(run.run_id, "score"))
    assert stored > step // 3, (stored, step)


def test_buffer_writes_itself_when_full(ops):
    run = ops.tracking.start_run(experiment="e", max_buffered=100)
    for i in range(250):
        run.log_metric("m", float(i), step=i)
    # two full buffers written; all 250 if the background flush (every 2 s) also ran meanwhile,
    # as it can on a loaded machine
    assert len(ops.tracking.store.get_metric_history(run.run_id, "m")) in (200, 250)
    run.end()
    assert len(ops.tracking.get_metric_history(run.run_id, "m")) == 250


def test_logging_after_end_is_a_conflict(ops):
    run = ops.tracking.start_run(experiment="e")
    run.end()
    run.end()  # a second end is harmless
    with pytest.raises(Conflict, match="ended"):
        run.log_metric("m", 1.0)


def test_store_failure_keeps_the_buffer_for_a_retry(ops, monkeypatch):
    run = ops.tracking.start_run(experiment="e")
    run.log_metric("m", 1.0)
    store = ops.tracking.store
    real = store.log_batch

    def broken(*args, **kwargs):
        raise modelops.StoreError("disk full")

    monkeypatch.setattr(store, "log_batch", broken)
    with pytest.raises(modelops.StoreError):
        run.flush()
    run.log_metric("m", 2.0, step=1)
    monkeypatch.setattr(store, "log_batch", real)
    run.end()
    assert ops.tracking.get_metric_history(run.run_id, "m").values.tolist() == [1.0, 2.0]


def test_run_finished_event_reaches_plugins(ops):
    from modelops import plugins

    seen = []

    class Listener:
        @modelops.hookimpl
        def modelops_run_finished(self, run, store_uri):
            seen.append((run.run_id, run.status, store_uri))

    listener = Listener()
    plugins.plugin_manager().register(listener)
    try:
        with ops.tracking.start_run(experiment="e") as run:
            run.log_metric("m", 1.0)
    finally:
        plugins.plugin_manager().unregister(listener)
    assert seen == [(run.run_id, RunStatus.FINISHED, ops.tracking.store.uri)]


def test_a_process_keeps_nothing_per_run_it_has_finished(tmp_path, monkeypatch):
    """The writer's state of a run is released when the run ends; a later write to the run
    reads it back from storage."""
    import gc
    import tracemalloc

    from modelops.backends.layout import local

    monkeypatch.setattr(local, "_MADE_KEPT", 64)
    ops = modelops.connect(str(tmp_path / "store"))
    store = ops.tracking.store

    def runs(n):
        for _ in range(n):
            with ops.tracking.start_run(experiment="e") as run:
                run.log_params({"p": "1"})
                run.log_metrics({"m": 0.5})
        return run.run_id

    runs(30)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        last = runs(150)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    layout = [tracemalloc.Filter(True, f"*{os.sep}backends{os.sep}layout{os.sep}*")]
    grown = sum(d.size_diff for d in after.filter_traces(layout).compare_to(
        before.filter_traces(layout), "filename"))
    assert store._writers == {}
    assert grown < 150 * 50  # was about 3 KB a run
    # Written again after its end: its state is read back, nothing is lost.
    with ops.tracking.start_run(run_id=last) as run:
        run.log_metric("late", 1.0)
    assert ops.tracking.get_run(last).data.metrics == {"m": 0.5, "late": 1.0}
    assert ops.tracking.get_run(last).data.params == {"p": "1"}
