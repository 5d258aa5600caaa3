"""Router: the split, its stability, logging, and evaluate/conclude with tests checked
against scipy and sample sizes checked by simulation."""

import hashlib
import json
import math
import subprocess
import sys
import uuid

import numpy as np
import pytest
from conftest import python_env
from scipy import stats

import modelops
from modelops.lifecycle import Router, abtest
from modelops.registry import MetricImprovement

from ._data import H, now_hour


def two_versions(ops, model="fraud"):
    ops.registry.register(model, {"w": [1]}, flavor="joblib", metrics={"accuracy": 0.80})
    ops.registry.promote(model, "1.0.0")
    ops.registry.register(model, {"w": [2]}, flavor="joblib", metrics={"accuracy": 0.85})
    ops.registry.promote(model, "1.0.1", stage="staging")


@pytest.fixture
def ops():
    ops = modelops.connect("memory://")
    two_versions(ops)
    return ops


# -- the split ------------------------------------------------------------------------------

@pytest.mark.parametrize("share", [0.01, 0.1, 0.25, 0.5, 0.9])
@pytest.mark.parametrize("keys", ["user", "int", "uuid"])
def test_the_split_over_100000_keys_is_within_1_percent_of_the_share(ops, share, keys):
    router = ops.router("fraud", share=share)
    rng = np.random.default_rng(0)
    if keys == "user":
        population = [f"user-{i}" for i in range(100_000)]
    elif keys == "int":
        population = list(range(100_000))
    else:
        population = [str(uuid.UUID(int=int(x))) for x in rng.integers(0, 2**63, 100_000)]
    hit = sum(router.assign(k).role == "challenger" for k in population) / 100_000
    assert abs(hit - share) <= 0.01
    # and as tight as a fair coin allows: within 4 binomial standard deviations
    assert abs(hit - share) <= 4 * math.sqrt(share * (1 - share) / 100_000)


def test_the_bucket_is_sha256_of_salt_and_key(ops):
    router = ops.router("fraud", share=0.1, salt="spring-test")
    digest = hashlib.sha256(b"spring-test\x00user-42").digest()
    assert router.bucket("user-42") == int.from_bytes(digest[:8], "big") / 2**64
    assert router.bucket(42) == router.bucket("42")
    assert router.bucket(b"\x01\x02") == int.from_bytes(
        hashlib.sha256(b"spring-test\x00\x01\x02").digest()[:8], "big") / 2**64


def test_the_same_key_always_gets_the_same_version_and_ramping_up_keeps_users(ops):
    small = ops.router("fraud", share=0.1)
    large = ops.router("fraud", share=0.2)
    keys = [f"user-{i}" for i in range(5_000)]
    first = [small.assign(k).version for k in keys]
    assert first == [small.assign(k).version for k in keys]
    assert first == [ops.router("fraud", share=0.1).assign(k).version for k in keys]
    on_small = {k for k in keys if small.assign(k).role == "challenger"}
    on_large = {k for k in keys if large.assign(k).role == "challenger"}
    assert on_small < on_large                  # a bigger share only adds keys
    other = ops.router("fraud", share=0.5, salt="another-experiment")
    same = ops.router("fraud", share=0.5)
    agree = sum(other.assign(k).role == same.assign(k).role for k in keys) / len(keys)
    assert 0.45 < agree < 0.55                  # another salt: an independent split


def test_the_split_is_stable_across_processes(tmp_path):
    ops = modelops.connect(tmp_path / "store")
    two_versions(ops)
    keys = [f"user-{i}" for i in range(2_000)] + list(range(500))
    here = [ops.router("fraud", share=0.3).assign(k).version for k in keys]
    code = ("import json, sys, modelops; ops = modelops.connect(sys.argv[1]); "
            "r = ops.router('fraud', share=0.3); keys = json.loads(sys.argv[2]); "
            "print(json.dumps([r.assign(k).version for k in keys]))")
    for seed in ("1", "2"):            # another hash() seed per process changes nothing
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "store"),
                              json.dumps(keys)], capture_output=True, text=True, check=True,
                             env=python_env(PYTHONHASHSEED=seed)).stdout
        assert json.loads(out) == here


# -- serving and logging --------------------------------------------------------------------

class Threshold:
    """A stand-in model: predicts 1 when the first feature is above its cut."""

    def __init__(self, cut):
        self.cut = cut

    def predict(self, x):
        return (np.asarray(x)[:, 0] > self.cut).astype(int)

    def predict_proba(self, x):
        p = (np.asarray(x)[:, 0] > self.cut).astype(float) * 0.8 + 0.1
        return np.column_stack([1 - p, p])


def test_predict_serves_the_assigned_version_and_logs_it(tmp_path):
    ops = modelops.connect(tmp_path / "store")
    ops.registry.register("risk", Threshold(0.0), flavor="joblib")
    ops.registry.promote("risk", "1.0.0")
    ops.registry.register("risk", Threshold(10.0), flavor="joblib")
    ops.registry.set_alias("risk", "challenger", "1.0.1")
    served = []
    with ops.router("risk", challenger="@challenger", share=0.5) as router:
        for i in range(40):
            p = router.predict(f"user-{i}", {"x": 5.0, "y": 1.0})
            router.feedback(p.id, 1)
            served.append(p)
    by_role = {p.role: p for p in served}
    assert by_role["champion"].prediction == 1 and by_role["champion"].version == "1.0.0"
    assert by_role["challenger"].prediction == 0 and by_role["challenger"].version == "1.0.1"
    assert by_role["champion"].probability == pytest.approx(0.9)
    table = ops.predictions.read("risk")
    assert len(table) == 40 and table.has_feedback.all()
    logged = {i: (v, m["route"], m["router"]) for i, v, m in
              zip(table.ids.tolist(), table.versions.tolist(), table.metadata.tolist())}
    for p in served:
        assert logged[p.id] == (p.version, p.role, "risk/1.0.1")
        assert router.assign(p.key).version == p.version


def test_log_keeps_the_callers_metadata(ops):
    with ops.router("fraud", share=0.5) as router:
        pid = router.log("user-1", {"x": 1.0}, 1, metadata={"request": "abc"})
    meta = ops.predictions.read("fraud").metadata.tolist()[0]
    assert meta == {"request": "abc", "route": router.assign("user-1").role,
                    "router": "fraud/1.0.1"}
    assert isinstance(pid, str)


# -- evaluate -------------------------------------------------------------------------------

def simulate(router, n, p_champion, p_challenger, seed=0, start=None, metric="accuracy"):
    """``n`` routed requests with feedback: right with the given probability per role (for
    ``mae``, an absolute error drawn per role)."""
    rng = np.random.default_rng(seed)
    start = now_hour() - 6 * H if start is None else start
    for i in range(n):
        a = router.assign(f"user-{seed}-{i}")
        truth = int(rng.integers(0, 2))
        if metric == "accuracy":
            p = p_challenger if a.role == "challenger" else p_champion
            prediction = truth if rng.random() < p else 1 - truth
        else:
            scale = p_challenger if a.role == "challenger" else p_champion
            truth = float(rng.normal(10, 2))
            prediction = truth + float(rng.normal(0, scale))
        pid = router.log(a, {"x": float(i)}, prediction, timestamp=start + i * 1_000)
        router.feedback(pid, truth, timestamp=start + i * 1_000 + 1)
    router.flush()


def counts(router, now):
    table = router.client.predictions.read(router.model, since=now - 7 * 24 * H, until=now)
    rows = {0: [0, 0], 1: [0, 0]}
    for v, p, a in zip(table.versions.tolist(), table.predictions.tolist(),
                       table.actuals.tolist()):
        role = 1 if v == router.challenger.version else 0
        rows[role][0] += int(p == a)
        rows[role][1] += 1
    return rows


def test_a_known_difference_is_found_and_matches_scipy(ops):
    now = now_hour()
    with ops.router("fraud", share=0.5) as router:
        simulate(router, 4_000, 0.80, 0.86)
        result = router.evaluate(now=now)
    assert result.verdict == "better" and result.needed == 0 and result.needed_requests == 0
    (x1, n1), (x2, n2) = counts(router, now).values()
    assert (result.n_champion, result.n_challenger) == (n1, n2)
    assert result.champion_value == x1 / n1 and result.challenger_value == x2 / n2
    table = [[x1, n1 - x1], [x2, n2 - x2]]
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    assert result.test == "two-proportion z-test"
    assert result.pvalue == pytest.approx(p, rel=1e-9)
    assert result.statistic ** 2 == pytest.approx(chi2, rel=1e-9) and result.statistic > 0
    assert "is better" in result.message


def test_a_worse_challenger_is_found(ops):
    now = now_hour()
    with ops.router("fraud", share=0.3) as router:
        simulate(router, 4_000, 0.90, 0.82, seed=1)
        result = router.evaluate(now=now)
    assert result.verdict == "worse" and result.difference < 0 and result.pvalue < 0.05


def test_equal_versions_are_not_significant_and_say_what_is_needed(ops):
    now = now_hour()
    with ops.router("fraud", share=0.2) as router:
        simulate(router, 3_000, 0.85, 0.85, seed=2)
        result = router.evaluate(now=now, min_effect=0.02)
    assert result.verdict == "unknown" and result.pvalue >= 0.05
    ratio = result.n_champion / result.n_challenger
    assert 3.5 < ratio < 4.6
    total = abtest.n_for_proportions(result.champion_value,
                                     result.champion_value + math.copysign(
                                         0.02, result.difference or 1.0), ratio=4.0)
    assert result.needed == math.ceil(total) - result.n_challenger > 0
    assert result.needed_requests == math.ceil(result.needed / 0.2)
    assert "more challenger predictions with feedback" in result.message


def test_small_samples_use_fishers_exact_test(ops):
    now = now_hour()
    with ops.router("fraud", share=0.5) as router:
        simulate(router, 40, 0.6, 0.95, seed=3)
        result = router.evaluate(now=now)
    (x1, n1), (x2, n2) = counts(router, now).values()
    assert result.test == "Fisher's exact test"
    odds, p = stats.fisher_exact([[x2, n2 - x2], [x1, n1 - x1]])
    assert result.pvalue == pytest.approx(p, rel=1e-12) and result.statistic == odds


def test_errors_are_compared_with_welchs_t_test(ops):
    now = now_hour()
    with ops.router("fraud", share=0.4) as router:
        simulate(router, 1_500, 1.0, 0.8, seed=4, metric="mae")
        mae = router.evaluate("mae", now=now)
        mse = router.evaluate("mse", now=now)
    table = ops.predictions.read("fraud", since=now - 24 * H, until=now)
    errors = np.abs(np.asarray(table.predictions.tolist(), float) -
                    np.asarray(table.actuals.tolist(), float))
    challenger = table.versions == "1.0.1"
    t, p = stats.ttest_ind(errors[challenger], errors[~challenger], equal_var=False)
    assert mae.test == "Welch's t-test"
    assert mae.statistic == pytest.approx(t, rel=1e-9) and mae.pvalue == pytest.approx(p)
    assert mae.verdict == "better" and mae.difference < 0 and not mae.higher_is_better
    t2, p2 = stats.ttest_ind(errors[challenger] ** 2, errors[~challenger] ** 2,
                             equal_var=False)
    assert mse.statistic == pytest.approx(t2, rel=1e-9) and mse.pvalue == pytest.approx(p2)


def test_only_this_routers_predictions_count(ops):
    now = now_hour()
    with ops.predictions.logger("fraud", version="1.0.0") as log:   # unrouted traffic
        ids = log.log_batch({"x": np.zeros(500)}, [0] * 500,
                            timestamps=[now - H + i for i in range(500)])
        log.feedback_batch(ids, [1] * 500, timestamps=[now - H + i + 1 for i in range(500)])
    with ops.router("fraud", share=0.5) as router:
        simulate(router, 200, 0.9, 0.9, seed=5)
        result = router.evaluate(now=now)
    assert result.n_champion + result.n_challenger == 200


def test_no_feedback_yet_is_unknown(ops):
    with ops.router("fraud", share=0.5) as router:
        result = router.evaluate()
    assert result.verdict == "unknown" and result.needed is None
    assert result.message.startswith("not enough feedback yet: 0 champion and 0 challenger")


def test_sample_sizes_reach_their_power_in_simulation():
    """The planned n gives the promised power: simulate 20,000 experiments per case."""
    rng = np.random.default_rng(11)
    for p1, p2, ratio in ((0.80, 0.85, 1.0), (0.90, 0.93, 4.0), (0.5, 0.45, 2.0)):
        n2 = math.ceil(abtest.n_for_proportions(p1, p2, ratio=ratio))
        n1 = round(n2 * ratio)
        x1 = rng.binomial(n1, p1, 20_000)
        x2 = rng.binomial(n2, p2, 20_000)
        pooled = (x1 + x2) / (n1 + n2)
        z = (x2 / n2 - x1 / n1) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        power = np.mean(2 * stats.norm.sf(np.abs(z)) < 0.05)
        assert abs(power - 0.80) < 0.02, (p1, p2, ratio, power)
    for ratio in (1.0, 3.0):
        n2 = math.ceil(abtest.n_for_means(0.2, 1.0, 1.5, ratio=ratio))
        n1 = round(n2 * ratio)
        a = rng.normal(0, 1.0, (4_000, n1))
        b = rng.normal(0.2, 1.5, (4_000, n2))
        _, p = stats.ttest_ind(b, a, axis=1, equal_var=False)
        assert abs(np.mean(p < 0.05) - 0.80) < 0.03


def test_the_classical_formula_worked_by_hand():
    # p1 = 0.60, p2 = 0.75, equal groups, two-sided alpha 0.05, power 0.80:
    # pbar = 0.675; n = (1.959964 * sqrt(2 * 0.675 * 0.325)
    #                   + 0.841621 * sqrt(0.60 * 0.40 + 0.75 * 0.25))^2 / 0.15^2 = 151.87
    assert abtest.n_for_proportions(0.60, 0.75) == pytest.approx(151.87, abs=0.01)
    assert math.isinf(abtest.n_for_proportions(0.6, 0.6))


# -- conclude -------------------------------------------------------------------------------

def test_conclude_promotes_a_better_challenger_through_the_registry(ops):
    now = now_hour()
    with ops.router("fraud", share=0.5) as router:
        simulate(router, 3_000, 0.78, 0.88, seed=6)
        done = router.conclude(now=now)
    assert done.action == "promoted" and done.evaluation.verdict == "better"
    assert ops.registry.get_version("fraud", stage="production").version == "1.0.1"
    assert ops.registry.get_version("fraud", "1.0.0").stage.value == "archived"
    event = ops.registry.history("fraud")[-1]
    assert event.action == "promote" and event.reason.startswith("router: the challenger")


def test_conclude_retires_a_worse_challenger_and_its_alias(ops):
    ops.registry.set_alias("fraud", "challenger", "1.0.1")
    now = now_hour()
    with ops.router("fraud", challenger="@challenger", share=0.5) as router:
        simulate(router, 3_000, 0.88, 0.78, seed=7)
        done = router.conclude(now=now)
    assert done.action == "retired"
    v = ops.registry.get_version("fraud", "1.0.1")
    assert v.stage.value == "archived" and v.aliases == ()
    assert ops.registry.get_version("fraud", stage="production").version == "1.0.0"


def test_conclude_waits_when_unknown_and_obeys_the_promotion_rule(ops):
    now = now_hour()
    with ops.router("fraud", share=0.5) as router:
        simulate(router, 60, 0.85, 0.85, seed=8)
        wait = router.conclude(now=now)
        assert wait.action == "continue" and wait.event is None
        simulate(router, 3_000, 0.78, 0.88, seed=9)
        refused = router.conclude(now=now, policy=MetricImprovement("accuracy", 0.10))
    assert refused.action == "refused" and "not enough" in refused.decision.reason
    assert ops.registry.get_version("fraud", stage="production").version == "1.0.0"
    assert ops.registry.history("fraud")[-1].action == "refused"


# -- refusals -------------------------------------------------------------------------------

def test_bad_input_is_refused(ops):
    with pytest.raises(modelops.InvalidInput, match="share"):
        ops.router("fraud", share=1.5)
    with pytest.raises(modelops.InvalidInput, match=r"both version 1\.0\.0"):
        ops.router("fraud", challenger="1.0.0")
    with pytest.raises(modelops.NotFound, match="challenger of 'fraud'"):
        ops.router("fraud", challenger="@nobody")
    with pytest.raises(modelops.InvalidInput, match="stage"):
        ops.router("fraud", challenger="")
    router = ops.router("fraud")
    with pytest.raises(modelops.InvalidInput, match="key"):
        router.assign(1.5)
    with pytest.raises(modelops.InvalidInput, match="metric"):
        router.evaluate("brier_score")
    with pytest.raises(modelops.InvalidInput, match="alpha"):
        router.evaluate(alpha=1.0)
    with pytest.raises(modelops.InvalidInput, match="min_effect"):
        router.evaluate(min_effect=0)
    with pytest.raises(modelops.InvalidInput, match="features"):
        router.predict("k", [1, 2])
    assert isinstance(router, Router) and repr(router).startswith("<Router 'fraud'")


def test_a_pipeline_over_named_categorical_columns_is_served_a_frame(tmp_path):
    # A ColumnTransformer selects its columns by name: fed a numpy row, it failed. The
    # router hands it a one-row DataFrame of the training columns, in the training order,
    # whatever order (and extra keys) the request has.
    pd = pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    n = 400
    train = pd.DataFrame({"department": rng.choice(["sales", "it", "hr"], n),
                          "overtime": rng.choice(["yes", "no"], n),
                          "age": rng.normal(40, 9, n)})
    y = np.where((train["overtime"] == "yes") & (train["department"] == "sales"),
                 "Leaves", "Stays")
    prep = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"),
                               ["department", "overtime"]),
                              ("num", StandardScaler(), ["age"])])
    model = make_pipeline(prep, LogisticRegression()).fit(train, y)
    ops = modelops.connect(tmp_path / "store")
    ops.registry.register("attrition", model)
    ops.registry.promote("attrition", "1.0.0")
    ops.registry.register("attrition", model)
    with ops.router("attrition", challenger="1.0.1", share=0.5) as router:
        request = {"age": 31.0, "request_id": "r-1", "overtime": "yes", "department": "sales"}
        served = router.predict("employee-7", request)
    frame = pd.DataFrame({"department": ["sales"], "overtime": ["yes"], "age": [31.0]})
    assert served.prediction == model.predict(frame)[0] == "Leaves"
    # binary: the probability of the second class (sklearn's "positive"), here "Stays"
    assert served.probability == pytest.approx(model.predict_proba(frame)[0, 1])
    # the model's stored positive label chooses the probability logged
    ops.set_monitoring("attrition", positive="Leaves")
    with ops.router("attrition", challenger="1.0.1", share=0.5) as router:
        served = router.predict("employee-7", request)
    assert served.probability == pytest.approx(model.predict_proba(frame)[0, 0])
    with ops.router("attrition", challenger="1.0.1", share=0.5) as router, \
            pytest.raises(modelops.InvalidInput,
                          match="fitted on columns the features lack: overtime"):
        router.predict("employee-7", {"age": 31.0, "department": "sales"})


# -- every metric of the table, and callables -----------------------------------------------

def scored_traffic(router, n, *, auc_champion=0.80, auc_challenger=0.86, seed=3,
                   positive="fraud", start=None):
    """Fraud/legit traffic with binormal scores of a known ROC AUC per role; the logged
    prediction is "fraud" above 0.5. Returns per role (truth, score, prediction)."""
    rng = np.random.default_rng(seed)
    start = now_hour() - 6 * H if start is None else start
    out = {"champion": ([], [], []), "challenger": ([], [], [])}
    for i in range(n):
        a = router.assign(f"k-{seed}-{i}")
        auc = auc_challenger if a.role == "challenger" else auc_champion
        fraud = rng.random() < 0.3
        z = rng.normal(np.sqrt(2) * stats.norm.ppf(auc) if fraud else 0.0, 1)
        score = float(stats.norm.cdf(z - 0.8))
        prediction = positive if score > 0.5 else "legit"
        truth = positive if fraud else "legit"
        pid = router.log(a, {"x": float(i)}, prediction, probability=score,
                         timestamp=start + i * 1_000)
        router.feedback(pid, truth, timestamp=start + i * 1_000 + 1)
        for bucket, value in zip(out[a.role], (truth, score, prediction)):
            bucket.append(value)
    router.flush()
    return {role: tuple(np.asarray(v) for v in values) for role, values in out.items()}


def test_precision_and_recall_are_two_proportions_checked_against_scipy(ops):
    now = now_hour()
    with ops.router("fraud", share=0.5) as router:
        data = scored_traffic(router, 3_000)
        for metric, over in (("precision", 2), ("recall", 0)):
            result = router.evaluate(metric, positive="fraud", now=now)
            table = []
            for role in ("champion", "challenger"):
                truth, _, pred = data[role]
                counted = (pred == "fraud") if over == 2 else (truth == "fraud")
                hits = int(((pred == "fraud") & (truth == "fraud")).sum())
                table.append([hits, int(counted.sum()) - hits])
            p = stats.chi2_contingency(table, correction=False).pvalue
            assert result.test == "two-proportion z-test"
            assert result.pvalue == pytest.approx(p, rel=1e-9), metric
            assert result.champion_value == pytest.approx(table[0][0] / sum(table[0]))


def test_log_loss_is_welch_on_per_prediction_losses_and_roc_auc_is_delong(ops):
    from sklearn.metrics import roc_auc_score

    now = now_hour()
    with ops.router("fraud", share=0.5) as router:
        data = scored_traffic(router, 2_000)
        result = router.evaluate("logloss", positive="fraud", now=now)     # an alias
        losses = [-np.log(np.where(t == "fraud", s, 1 - s))
                  for t, s, _ in (data["champion"], data["challenger"])]
        want = stats.ttest_ind(losses[1], losses[0], equal_var=False)
        assert result.metric == "log_loss" and result.test == "Welch's t-test"
        assert result.pvalue == pytest.approx(want.pvalue, rel=1e-9)
        auc = router.evaluate("auc", positive="fraud", now=now)
    assert auc.metric == "roc_auc" and auc.test == "DeLong's test"
    for role, value in (("champion", auc.champion_value), ("challenger",
                                                          auc.challenger_value)):
        truth, score, _ = data[role]
        assert value == pytest.approx(roc_auc_score(truth == "fraud", score))
    # DeLong's p-value against a permutation test of the same difference (scipy)
    (ta, sa, _), (tb, sb, _) = data["champion"], data["challenger"]
    truth, score = np.r_[ta, tb] == "fraud", np.r_[sa, sb]
    perm = stats.permutation_test(
        (np.arange(len(ta)), np.arange(len(ta), len(truth))),
        lambda a, b: roc_auc_score(truth[b], score[b]) - roc_auc_score(truth[a], score[a]),
        vectorized=False, n_resamples=499, rng=np.random.default_rng(1))
    assert auc.pvalue == pytest.approx(perm.pvalue, abs=0.04)


def test_f1_and_callables_get_a_seeded_permutation_test(ops):
    from sklearn.metrics import f1_score

    now = now_hour()
    with ops.router("fraud", share=0.5) as router:
        data = scored_traffic(router, 1_000, auc_challenger=0.90)
        result = router.evaluate("f1_score", positive="fraud", resamples=999, now=now)
        again = router.evaluate("f1", positive="fraud", resamples=999, now=now)

        def balanced(y_true, y_pred):
            from sklearn.metrics import balanced_accuracy_score

            return balanced_accuracy_score(y_true, y_pred)

        custom = router.evaluate(balanced, resamples=199, now=now)
        with_score = router.evaluate(lambda t, p, s: -float(np.mean((s - t) ** 2)),
                                     positive="fraud", resamples=199, now=now)
    assert result.metric == "f1" and result.test == "permutation test (999 resamples)"
    assert (result.pvalue, result.statistic) == (again.pvalue, again.statistic)   # seeded
    (ta, _, pa), (tb, _, pb) = data["champion"], data["challenger"]
    assert result.champion_value == pytest.approx(f1_score(ta, pa, pos_label="fraud"))
    # scipy's permutation test of the same difference, F1 written out (2 TP / (P + PP))
    truth, pred = np.r_[ta, tb] == "fraud", np.r_[pa, pb] == "fraud"

    def f1(rows):
        hits = np.sum(truth[rows] & pred[rows], axis=-1)
        return 2 * hits / (np.sum(truth[rows], axis=-1) + np.sum(pred[rows], axis=-1))

    want = stats.permutation_test(
        (np.arange(len(ta)), np.arange(len(ta), len(truth))),
        lambda a, b, axis: f1(b) - f1(a), vectorized=True, n_resamples=4_999,
        rng=np.random.default_rng(7))
    assert result.pvalue == pytest.approx(want.pvalue, abs=0.03)
    assert result.statistic == pytest.approx(want.statistic)
    assert custom.metric == "balanced" and custom.higher_is_better
    assert with_score.metric == "<lambda>" and with_score.test == \
        "permutation test (199 resamples)"
    for found in (result, custom, with_score):
        assert found.needed is not None and (found.needed == 0) == (found.verdict != "unknown")


def test_needed_predictions_for_roc_auc_reach_the_planned_power():
    # The plan from a pilot sample; at the planned size, DeLong's test at alpha 0.05 finds
    # the difference in about 80 % of fresh experiments.
    from modelops.lifecycle.judge import Groups, comparison_for

    rng = np.random.default_rng(11)

    def draw(n, auc):
        fraud = rng.random(n) < 0.3
        score = rng.normal(np.where(fraud, np.sqrt(2) * stats.norm.ppf(auc), 0.0), 1)
        truth = np.where(fraud, "fraud", "legit")
        return truth, score

    comparison = comparison_for("roc_auc", positive="fraud")
    ta, sa = draw(400, 0.80)
    tb, sb = draw(400, 0.85)
    pilot = Groups(ta, ta, sa, tb, tb, sb)
    planned = comparison.plan(pilot, 0.05, 1.0, 0.05, 0.8, 1.0)
    n = math.ceil(planned)
    found = 0
    runs = 200
    for _ in range(runs):
        ta, sa = draw(n, 0.80)
        tb, sb = draw(n, 0.85)
        found += comparison.test(Groups(ta, ta, sa, tb, tb, sb)).pvalue < 0.05
    assert 0.7 <= found / runs <= 0.9, (n, found)


def test_needed_predictions_for_f1_come_from_the_bootstrap_and_reach_the_planned_power():
    from modelops.lifecycle import abtest as ab
    from modelops.lifecycle.judge import Groups, comparison_for

    rng = np.random.default_rng(12)

    def draw(n, recall):
        fraud = rng.random(n) < 0.3
        hit = rng.random(n) < np.where(fraud, recall, 0.1)
        return np.where(fraud, "fraud", "legit"), np.where(hit, "fraud", "legit")

    comparison = comparison_for("f1", positive="fraud", resamples=999)
    ta, pa = draw(600, 0.70)
    tb, pb = draw(600, 0.80)
    nan = np.full(600, np.nan)
    planned = comparison.plan(Groups(pa, ta, nan, pb, tb, nan), 0.06, 1.0, 0.05, 0.8, 1.0)
    n = math.ceil(planned)
    # the F1 of each side at the planned size, by simulation: the normal test on the two
    # F1s with their simulated spread reaches about the planned power
    sides = {}
    for recall in (0.70, 0.80):
        f1s = []
        for _ in range(400):
            t, p = draw(n, recall)
            tp = np.sum((t == "fraud") & (p == "fraud"))
            f1s.append(2 * tp / (np.sum(t == "fraud") + np.sum(p == "fraud")))
        sides[recall] = np.asarray(f1s)
    gap = sides[0.80].mean() - sides[0.70].mean()
    se = np.sqrt(sides[0.80].var() + sides[0.70].var())
    achieved = stats.norm.sf(stats.norm.isf(0.025) - gap / se)
    if abs(gap - 0.06) > 0.02:        # the planned effect is the simulated one, give or take
        pytest.fail(f"the simulated F1 gap is {gap:.3f}, planned for 0.06")
    assert 0.65 <= achieved <= 0.95, (n, achieved)
    assert ab.unit_variance(lambda r: float(np.mean(r)), np.arange(50.0), resamples=999,
                            seed=0) == pytest.approx(np.var(np.arange(50.0), ddof=1), rel=0.15)
