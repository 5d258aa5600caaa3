"""run_cycle end to end, its outcomes, and one cycle at a time across threads and processes."""

import json
import pathlib
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from conftest import python_env

import modelops
from modelops.lifecycle import RetrainPolicy, run_cycle
from modelops.lifecycle.lease import acquire, read_cycles
from modelops.registry import Floors, MetricImprovement

from ._data import FEATURES, H, now_hour, production_model, traffic


def fit(context):
    """A real scikit-learn model trained on the cycle's labelled window."""
    from sklearn.linear_model import LogisticRegression

    x, y = context.labelled(features=list(FEATURES))
    model = LogisticRegression().fit(x, y.astype(int))
    return model, {"accuracy": 0.97, "rows": float(len(y))}


def quick(context):
    return {"weights": [1.0, 2.0]}, {"accuracy": 0.97}


def drifted(ops, now):
    production_model(ops)
    traffic(ops, now, shifted=3)


def test_the_whole_cycle(any_ops):
    pytest.importorskip("sklearn")
    ops = any_ops
    now = now_hour()
    drifted(ops, now)
    seen = {}

    def train(context):
        seen.update(since=context.since, until=context.until, replaced=context.production,
                    triggers=context.decision.triggers, run=context.run.run_id)
        return fit(context)

    # (the stand-in production model cannot predict: compare the registered metrics)
    report = run_cycle(ops, "fraud", train, promotion=MetricImprovement("accuracy", 0.01),
                       compare="registered", now=now)
    assert report.status == "promoted" and report.promoted and report.trained
    assert report.version.version == "1.0.1" and report.replaced == "1.0.0"
    assert report.message == "registered 1.0.1 and promoted it to production"
    assert seen["since"] == now - 24 * H and seen["until"] == now
    assert seen["replaced"].version == "1.0.0" and seen["triggers"] == ("input_drift",)

    # lineage: the version replaced, the trigger, the data window
    v = ops.registry.get_version("fraud", "1.0.1")
    assert v.stage.value == "production" and v.run_id == seen["run"] == report.run_id
    assert v.lineage.parent_version == "1.0.0"
    assert v.lineage.training_data.startswith("predictions:fraud[") and ")" in \
        v.lineage.training_data
    assert "input_drift" in v.lineage.notes and report.cycle in v.lineage.notes
    assert v.tags["modelops.trigger"] == "input_drift" and v.tags["modelops.replaces"] == "1.0.0"
    assert v.tags["modelops.cycle"] == report.cycle
    assert v.metrics == {"accuracy": 0.97, "rows": 1_200.0}
    assert ops.registry.get_version("fraud", "1.0.0").stage.value == "archived"

    # the tracked run, and the model as trained
    run = ops.tracking.get_run(report.run_id)
    assert run.info.status.value == "FINISHED" and run.metrics["rows"] == 1_200
    assert run.tags["modelops.cycle"] == report.cycle
    loaded = ops.registry.load("fraud", "1.0.1")
    assert loaded.predict(np.zeros((2, 4))).shape == (2,)

    # the history: the lease, the promotion, the release
    actions = [e.action for e in ops.registry.history("fraud")]
    assert actions == ["promote", "cycle_started", "promote", "cycle_finished"]
    finished = ops.registry.history("fraud")[-1]
    assert finished.payload["outcome"] == "promoted" and finished.payload["version"] == "1.0.1"
    record = read_cycles(ops.store("registry"), "fraud").current
    assert record.finished and record.outcome == "promoted" and record.version == "1.0.1"
    json.dumps(report.to_dict())
    assert "why: input drift: 3 of 4" in str(report)


def test_not_due_writes_nothing(ops):
    now = now_hour()
    production_model(ops)
    traffic(ops, now)
    before = len(ops.registry.history("fraud"))
    report = run_cycle(ops, "fraud", quick, now=now)
    assert report.status == "skipped" and not report.trained and report.message == \
        "retraining is not due"
    assert len(ops.registry.history("fraud")) == before
    assert [v.version for v in ops.registry.list_versions("fraud")] == ["1.0.0"]
    assert "fraud-retraining" not in {e.name for e in ops.tracking.list_experiments()}


def test_a_refusal_is_recorded_and_production_stays(ops):
    now = now_hour()
    drifted(ops, now)
    report = run_cycle(ops, "fraud", quick, promotion=MetricImprovement("accuracy", 0.05),
                       compare="registered", now=now)
    assert report.status == "refused" and report.trained and not report.promoted
    assert "needs 0.05 higher: not enough" in report.promotion.reason
    assert ops.registry.get_version("fraud", stage="production").version == "1.0.0"
    assert ops.registry.get_version("fraud", "1.0.1").stage.value == "development"
    actions = [e.action for e in ops.registry.history("fraud")]
    assert actions == ["promote", "cycle_started", "refused", "cycle_finished"]
    assert ops.registry.history("fraud")[-1].payload["outcome"] == "refused"


def test_no_rule_registers_only(ops):
    now = now_hour()
    drifted(ops, now)
    report = run_cycle(ops, "fraud", quick, now=now)
    assert report.status == "registered" and report.promotion is None
    assert "no promotion rule given" in report.message


def test_a_challenger_goes_to_staging_or_an_alias_judged_against_production(ops):
    now = now_hour()
    drifted(ops, now)
    report = run_cycle(ops, "fraud", quick, promotion=Floors({"accuracy": 0.9}),
                       target="staging", compare="registered", now=now)
    assert report.status == "promoted" and report.message.endswith("promoted it to staging")
    assert ops.registry.get_version("fraud", stage="staging").version == "1.0.1"
    assert ops.registry.get_version("fraud", stage="production").version == "1.0.0"
    report = run_cycle(ops, "fraud", quick, promotion=MetricImprovement("accuracy", 0.1),
                       target="@challenger", force=True, compare="registered", now=now)
    assert report.status == "refused" and "vs 0.95" in report.promotion.reason
    report = run_cycle(ops, "fraud", quick, promotion=MetricImprovement("accuracy"),
                       target="@challenger", force=True, compare="registered", now=now)
    assert report.status == "promoted"
    assert ops.registry.get_version("fraud", alias="challenger").version == "1.0.3"


def test_the_first_cycle_trains_the_first_version(ops):
    report = run_cycle(ops, "brand-new", quick, promotion=MetricImprovement("accuracy"))
    assert report.status == "promoted" and report.replaced is None
    assert report.decision.triggers == ("no_production",)
    assert ops.registry.get_version("brand-new", stage="production").lineage.parent_version \
        is None


def test_a_failing_train_fn_fails_the_run_frees_the_lease_and_raises(ops):
    now = now_hour()
    drifted(ops, now)

    def broken(context):
        raise RuntimeError("the feature store is down")

    with pytest.raises(RuntimeError, match="feature store"):
        run_cycle(ops, "fraud", broken, now=now)
    runs = ops.tracking.search_runs("fraud-retraining")
    assert [r.info.status.value for r in runs] == ["FAILED"]
    finished = ops.registry.history("fraud")[-1]
    assert finished.action == "cycle_finished" and finished.payload["outcome"] == "failed"
    assert "RuntimeError: the feature store is down" in finished.reason
    assert [v.version for v in ops.registry.list_versions("fraud")] == ["1.0.0"]
    # a failed cycle does not start the cooldown: the next call retrains
    assert run_cycle(ops, "fraud", quick, now=now).status == "registered"


@pytest.mark.parametrize("result", [None, ({"w": 1},), ({"w": 1}, [0.9]), (None, {}),
                                    ({"w": 1}, {"accuracy": float("nan")})])
def test_a_bad_train_fn_result_is_refused(ops, result):
    now = now_hour()
    drifted(ops, now)
    with pytest.raises(modelops.InvalidInput, match="train_fn"):
        run_cycle(ops, "fraud", lambda context: result, now=now)
    assert [v.version for v in ops.registry.list_versions("fraud")] == ["1.0.0"]
    assert ops.registry.history("fraud")[-1].payload["outcome"] == "failed"


@pytest.mark.parametrize(("options", "field"), [
    ({"policy": "often"}, "policy"),
    ({"promotion": "better"}, "promotion"),
    ({"target": "archived"}, "target"),
    ({"target": "@production"}, "target"),
    ({"lease": "forever"}, "lease"),
    ({"data_window": 0}, "data_window"),
    ({"now": "noon"}, "now"),
])
def test_bad_arguments_are_refused_before_anything_is_written(ops, options, field):
    production_model(ops)
    before = len(ops.registry.history("fraud"))
    with pytest.raises(modelops.InvalidInput) as err:
        run_cycle(ops, "fraud", quick, force=True, **options)
    assert err.value.field == field
    assert len(ops.registry.history("fraud")) == before
    with pytest.raises(modelops.InvalidInput):
        run_cycle(ops, "fraud", "train")
    with pytest.raises(modelops.InvalidInput):
        run_cycle(ops, "bad/name", quick)


def test_a_live_lease_makes_other_callers_busy_in_threads(ops):
    """Eight threads at once, no cooldown: the winner's train_fn waits until every other
    call has returned, so they all ran while it held the lease."""
    now = now_hour()
    drifted(ops, now)
    policy = RetrainPolicy(cooldown=None)
    returned = []
    done = threading.Condition()
    reports = []

    def train(context):
        with done:
            assert done.wait_for(lambda: len(returned) == 7, timeout=60)
        return quick(context)

    def call():
        report = run_cycle(ops, "fraud", train, policy=policy, now=now)
        with done:
            returned.append(report.status)
            reports.append(report)
            done.notify_all()

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(returned) == ["busy"] * 7 + ["registered"]
    busy = [r for r in reports if r.status == "busy"]
    winner = next(r for r in reports if r.status == "registered")
    assert {r.blocked_by.cycle for r in busy} == {winner.cycle}
    assert all("holds the lease" in r.message for r in busy)
    assert [v.version for v in ops.registry.list_versions("fraud")] == ["1.0.0", "1.0.1"]


def test_a_crashed_holder_blocks_only_until_its_lease_expires(ops):
    now = now_hour()
    drifted(ops, now)
    store = ops.store("registry")
    seq = read_cycles(store, "fraud").seq
    crashed = acquire(store, "fraud", cycle="crashed-cycle", ttl_ms=60_000, observed_seq=seq,
                      now=lambda: now, actor="someone", reason="a process that died",
                      triggers=("input_drift",))
    assert crashed.cycle == "crashed-cycle"
    busy = run_cycle(ops, "fraud", quick, now=now + 30_000)
    assert busy.status == "busy" and busy.blocked_by.cycle == "crashed-cycle"
    later = run_cycle(ops, "fraud", quick, now=now + 61_000)
    assert later.status == "registered"
    started = [e for e in ops.registry.history("fraud") if e.action == "cycle_started"][-1]
    assert started.payload["took_over"] == "crashed-cycle"


def test_a_holder_whose_lease_was_taken_over_writes_nothing_more(ops):
    now = now_hour()
    drifted(ops, now)
    clock = [now]
    inner = []

    def slow(context):
        clock[0] += 2 * 60_000                      # the lease ("1m") runs out meanwhile
        inner.append(run_cycle(ops, "fraud", quick, lease="1m", now=lambda: clock[0]))
        return quick(context)

    with pytest.raises(modelops.Conflict, match="was taken over"):
        run_cycle(ops, "fraud", slow, lease="1m", now=lambda: clock[0])
    assert inner[0].status == "registered" and inner[0].version.version == "1.0.1"
    assert [v.version for v in ops.registry.list_versions("fraud")] == ["1.0.0", "1.0.1"]
    outcomes = [e.payload.get("outcome") for e in ops.registry.history("fraud")
                if e.action == "cycle_finished"]
    assert outcomes == ["registered"]                # the first holder released nothing


SCRIPT = """
import json, pathlib, sys, time
import modelops
from modelops.lifecycle import RetrainPolicy, run_cycle

store, name, others, now, cooldown = sys.argv[1], sys.argv[2], sys.argv[3:-2], \\
    int(sys.argv[-2]), sys.argv[-1]
root = pathlib.Path(store).parent
(root / f"ready-{name}").touch()
deadline = time.monotonic() + 60
while not all((root / f"ready-{o}").exists() for o in others):   # start together
    assert time.monotonic() < deadline
    time.sleep(0.005)

def train(context):
    if cooldown == "none":      # hold the lease until every other process has returned
        while not all((root / f"done-{o}").exists() for o in others):
            assert time.monotonic() < deadline, "another process never returned"
            time.sleep(0.01)
    return {"weights": [1.0]}, {"accuracy": 0.97}

ops = modelops.connect(store)
policy = RetrainPolicy(cooldown=None if cooldown == "none" else cooldown)
report = run_cycle(ops, "fraud", train, policy=policy, now=now)
(root / f"done-{name}").touch()
print(json.dumps({"status": report.status,
                  "version": report.version.version if report.version else None}))
"""


def run_processes(tmp_path, count, now, cooldown):
    script = tmp_path / "cycle.py"
    script.write_text(textwrap.dedent(SCRIPT))
    names = [f"p{i}" for i in range(count)]
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path / "store"), name,
                               *[o for o in names if o != name], str(now), cooldown],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=python_env())
             for name in names]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.mark.slow
def test_processes_running_cycles_at_once_make_one_version(tmp_path):
    """Three processes call run_cycle at the same moment on one local store: one cycle
    trains; the others are busy, or skipped by the cooldown once it finished."""
    ops = modelops.connect(tmp_path / "store")
    now = now_hour()
    drifted(ops, now)
    results = run_processes(tmp_path, 3, now, "1h")
    statuses = sorted(r["status"] for r in results)
    assert statuses.count("registered") == 1
    assert set(statuses) - {"registered"} <= {"busy", "skipped"}
    assert [v.version for v in ops.registry.list_versions("fraud")] == ["1.0.0", "1.0.1"]


@pytest.mark.slow
def test_a_process_holding_the_lease_makes_another_busy(tmp_path):
    """No cooldown, and the winner holds the lease until the other process has returned:
    the other can only have found it busy."""
    ops = modelops.connect(tmp_path / "store")
    now = now_hour()
    drifted(ops, now)
    results = run_processes(tmp_path, 2, now, "none")
    assert sorted(r["status"] for r in results) == ["busy", "registered"]
    assert [v.version for v in ops.registry.list_versions("fraud")] == ["1.0.0", "1.0.1"]
    cycles = [e for e in ops.registry.history("fraud") if e.action.startswith("cycle_")]
    assert [e.action for e in cycles] == ["cycle_started", "cycle_finished"]
    assert pathlib.Path(tmp_path / "store").exists()


def test_a_deleted_model_is_refused_before_the_lease(ops):
    production_model(ops)
    ops.registry.delete_model("fraud", force=True)
    events = len(ops.registry.history("fraud"))
    with pytest.raises(modelops.NotFound, match="is deleted"):
        run_cycle(ops, "fraud", quick, force=True)
    assert len(ops.registry.history("fraud")) == events


def concept_traffic(ops, now, *, flip, n=1_500, seed=5):
    """A day of traffic whose label is 1 when x1 + x2 > 0 — or, with ``flip``, when
    x1 - x2 > 0 (the world changed) — 8 % of labels noisy, logged with the production
    version's predictions."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURES)))
    truth = ((x[:, 0] - x[:, 1] if flip else x[:, 0] + x[:, 1]) > 0).astype(int)
    truth = np.where(rng.random(n) < 0.08, 1 - truth, truth)     # 8 % label noise
    stamps = now - 24 * H + np.arange(n) * (24 * H // n)
    production = ops.registry.load("fraud", stage="production")
    with ops.predictions.logger("fraud", version="1.0.0") as log:
        ids = log.log_batch(dict(zip(FEATURES, x.T)), production.predict(x).tolist(),
                            timestamps=stamps.tolist())
        log.feedback_batch(ids, truth.tolist(), timestamps=(stamps + 1).tolist())


def trained_before(ops):
    """Production: a logistic regression that learnt x1 + x2 > 0, registered at 0.97."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2_000, len(FEATURES)))
    model = LogisticRegression().fit(x, (x[:, 0] + x[:, 1] > 0).astype(int))
    production_model(ops, accuracy=0.97, fitted=model)


def test_a_better_model_replaces_a_degraded_production_one(ops):
    # The world changed: production, registered at accuracy 0.97, now scores about 0.5. A
    # model retrained on the day scores about 0.9 — below the registered 0.97, so comparing
    # with registered metrics refuses it; on the same held-out day it wins.
    pytest.importorskip("sklearn")
    now = now_hour()
    trained_before(ops)
    concept_traffic(ops, now, flip=True)
    stale = run_cycle(ops, "fraud", fit_on_window, promotion=MetricImprovement("accuracy"),
                      force=True, compare="registered", now=now)
    assert stale.status == "refused" and "vs 0.97" in stale.promotion.reason
    report = run_cycle(ops, "fraud", fit_on_window, promotion=MetricImprovement("accuracy"),
                       force=True, now=now)
    assert report.status == "promoted", report.promotion.reason
    reason = report.promotion.reason
    assert reason.startswith("the new model and production 1.0.0 scored on the same 450 "
                             "held-out predictions with feedback of [")
    assert report.promotion.deltas["accuracy"] > 0.3          # about 0.9 against 0.5
    version = ops.registry.get_version("fraud", report.version.version)
    assert version.metrics["accuracy"] > 0.85 and "roc_auc" in version.metrics
    assert version.tags["modelops.compared_on"] == reason.split(": ")[0]
    run = ops.tracking.get_run(report.run_id)
    assert run.metrics["holdout_production_accuracy"] < 0.65
    assert run.metrics["holdout_accuracy"] == version.metrics["accuracy"]
    event = [e for e in ops.registry.history("fraud") if e.action == "promote"][-1]
    assert event.decision.reason == reason          # the history says what was compared


def test_a_worse_retrained_model_is_refused_whatever_it_reports(ops):
    # A training function that overfits (or reports its training accuracy) claims 0.99:
    # against the registered 0.97 it would be promoted; on held-out data it is worse.
    pytest.importorskip("sklearn")
    now = now_hour()
    trained_before(ops)
    concept_traffic(ops, now, flip=False)

    def boastful(context):
        from sklearn.dummy import DummyClassifier

        x, y = context.labelled(features=list(FEATURES))
        return DummyClassifier().fit(x, y.astype(int)), {"accuracy": 0.99}

    naive = run_cycle(ops, "fraud", boastful, promotion=MetricImprovement("accuracy"),
                      force=True, compare="registered", now=now)
    assert naive.status == "promoted"
    ops.registry.rollback("fraud")                  # back to the good model
    report = run_cycle(ops, "fraud", boastful, promotion=MetricImprovement("accuracy"),
                       force=True, now=now)
    assert report.status == "refused" and "not enough" in report.promotion.reason
    assert "scored on the same" in report.promotion.reason
    assert ops.registry.get_version("fraud", stage="production").version == "1.0.0"


def test_without_enough_held_out_data_or_a_scorable_production_model_it_refuses(ops):
    now = now_hour()
    drifted(ops, now)             # the stand-in production model cannot predict
    report = run_cycle(ops, "fraud", fit, promotion=MetricImprovement("accuracy"),
                       force=True, now=now)
    assert report.status == "refused"
    assert "production 1.0.0 could not be scored on the held-out predictions" in \
        report.promotion.reason and "compare='registered'" in report.promotion.reason
    ops2 = modelops.connect("memory://")
    trained_before(ops2)
    traffic(ops2, now, n=60)      # 18 held out
    report = run_cycle(ops2, "fraud", fit, promotion=MetricImprovement("accuracy"),
                       force=True, now=now)
    assert report.status == "refused" and "only 18 held-out predictions" in \
        report.promotion.reason
    with pytest.raises(modelops.InvalidInput, match="compare"):
        run_cycle(ops2, "fraud", fit, compare="latest", force=True, now=now)


def fit_on_window(context):
    from sklearn.linear_model import LogisticRegression

    x, y = context.labelled(features=list(FEATURES))
    held_x, _ = context.holdout(features=list(FEATURES))
    # compare="holdout" keeps 30 % apart; "registered" keeps nothing
    assert (len(x), len(held_x)) in ((1_050, 450), (1_500, 0))
    cut = len(y) * 3 // 4                 # its own validation split, as training code has
    model = LogisticRegression().fit(x[:cut], y[:cut].astype(int))
    accuracy = float(np.mean(model.predict(x[cut:]) == y[cut:].astype(int)))
    return model, {"accuracy": accuracy, "rows": float(len(y))}


def test_labelled_gives_categorical_features_as_a_frame(ops):
    # It refused any non-numeric feature ("read context.predictions() and encode it").
    pd = pytest.importorskip("pandas")
    now = now_hour()
    rng = np.random.default_rng(2)
    n = 200
    with ops.predictions.logger("attrition", version="1.0.0") as log:
        ids = log.log_batch({"department": rng.choice(["it", "hr"], n).tolist(),
                             "age": rng.normal(40, 8, n).tolist()},
                            ["Stays"] * n,
                            timestamps=(now - 24 * H + np.arange(n) * 60_000).tolist())
        log.feedback_batch(ids, rng.choice(["Stays", "Leaves"], n).tolist(),
                           timestamps=(now - 24 * H + np.arange(n) * 60_000 + 1).tolist())
    seen = {}

    def train(context):
        x, y = context.labelled()
        seen["x"], seen["y"] = x, y
        seen["numbers"] = context.labelled(features=["age"])[0]
        with pytest.raises(modelops.InvalidInput, match="as_frame=True"):
            context.labelled(as_frame=False)
        return {"w": 1}, {"accuracy": 0.9}

    run_cycle(ops, "attrition", train, now=now)
    x = seen["x"]
    assert isinstance(x, pd.DataFrame) and list(x.columns) == ["department", "age"]
    assert set(x["department"]) == {"it", "hr"} and x["age"].dtype.kind == "f"
    assert len(x) == len(seen["y"]) == 140         # 30 % held out to score the new model
    assert isinstance(seen["numbers"], np.ndarray) and seen["numbers"].shape == (140, 1)


def test_data_rules_gate_the_cycle(ops):
    from modelops.validation import rules

    now = now_hour()
    drifted(ops, now)
    broken = [rules.between("x1", -2.5, 2.5), rules.isin("actual", [0, 1], severity="warning")]
    report = run_cycle(ops, "fraud", quick, now=now, data_rules=broken)
    assert report.status == "invalid_data" and not report.trained
    assert report.validation.errors[0].check == "between(x1)"
    assert "between(x1)" in report.message
    assert ops.registry.history("fraud")[-1].payload["outcome"] == "invalid_data"
    assert [v.version for v in ops.registry.list_versions("fraud")] == ["1.0.0"]
    kept = [rules.between("x1", -20, 20), rules.not_null("actual"),
            rules.row("a label", lambda f: np.isin(f["actual"].astype(int), [0, 1]))]
    report = run_cycle(ops, "fraud", quick, now=now, data_rules=kept)
    assert report.status == "registered" and report.validation.passed


def test_a_retrained_version_keeps_production_input_signature_when_it_takes_the_same_columns(
        ops):
    """Production was registered with a signature; a model retrained on ``labelled()``'s
    arrays of exactly those features, in that order, keeps it (so a served model keeps its
    input contract); one trained on other columns gets none."""
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    frame = {f: rng.normal(0, 1, 200) for f in FEATURES}
    signature = modelops.infer_signature(frame)
    version = ops.registry.register("fraud", {"weights": [0.5, -1.0]}, flavor="joblib",
                                    signature=signature)
    ops.registry.promote("fraud", version.version)
    ops.drift.fit_reference("fraud", frame)
    now = now_hour()
    traffic(ops, now)

    def other_columns(context):
        x, y = context.labelled(features=list(FEATURES[:3]))
        return LogisticRegression().fit(x, y.astype(int)), {"accuracy": 0.97}

    for train_fn, kept in ((fit, True), (other_columns, False)):
        report = run_cycle(ops, "fraud", train_fn, force=True, now=now)
        stored = ops.registry.get_version("fraud", report.version.version)
        from modelops.validation import signature_of

        assert (signature_of(stored) == signature) is kept, train_fn.__name__
        if not kept:
            assert stored.signature is None
