import threading

import pytest

import modelops
from modelops import Conflict, RunStatus


def test_fluent_api_like_mlflow(tmp_path):
    modelops.set_uri(tmp_path)
    modelops.set_experiment("notebook")
    with modelops.start_run(name="first") as run:
        modelops.log_param("alpha", 0.5)
        modelops.log_params({"beta": 1})
        modelops.log_metric("loss", 0.3, step=1)
        modelops.log_metrics({"acc": 0.9})
        modelops.set_tag("k", "v")
        modelops.set_tags({"k2": "v2"})
        modelops.log_text("hi", "hello.txt")
        modelops.log_dict({"a": 1}, "a.json")
        assert modelops.active_run() is run
    assert modelops.active_run() is None
    stored = modelops.get_run(run.run_id)
    assert stored.params == {"alpha": "0.5", "beta": "1"}
    assert stored.metrics == {"loss": 0.3, "acc": 0.9}
    assert {k: v for k, v in stored.tags.items() if not k.startswith("modelops.")} == \
        {"k": "v", "k2": "v2"}
    assert "modelops.python" in stored.tags            # and its environment
    assert [r.run_id for r in modelops.search_runs()] == [run.run_id]


def test_logging_without_a_run_starts_one_and_end_run_ends_it():
    modelops.log_metric("m", 1.0)
    run = modelops.active_run()
    assert run is not None
    modelops.end_run()
    assert modelops.active_run() is None
    assert modelops.get_run(run.run_id).status is RunStatus.FINISHED
    modelops.end_run()  # nothing active: nothing happens


def test_nested_runs_need_nested_true():
    with modelops.start_run(name="outer") as outer:
        with pytest.raises(Conflict, match="nested=True"):
            modelops.start_run()
        with modelops.start_run(name="inner", nested=True) as inner:
            assert modelops.active_run() is inner
        assert modelops.active_run() is outer
    assert modelops.get_run(inner.run_id).info.parent_run_id == outer.run_id


def test_each_thread_has_its_own_active_run():
    modelops.set_experiment("threads")
    barrier = threading.Barrier(4)
    ids, errors = {}, []

    def work(i):
        try:
            with modelops.start_run(name=f"t{i}") as run:
                barrier.wait()
                for step in range(200):
                    modelops.log_metric("m", float(i), step=step)
                ids[i] = run.run_id
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i, run_id in ids.items():
        history = modelops.get_client().tracking.get_metric_history(run_id, "m")
        assert history.values.tolist() == [float(i)] * 200
    assert len(set(ids.values())) == 4
