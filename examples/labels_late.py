"""Monitoring before the labels arrive: a loan model whose outcomes are known months later.

    python examples/labels_late.py [STORE]        # default: a temporary directory

A month of labelled history, then a week in which applicants change (their debt moves towards
where the model hesitates, and in the "east" region loans stop following incomes) and no
label has come in yet. The script estimates the
model's accuracy and ROC AUC per day without labels (CBPE), finds the inputs that drifted
together (PCA reconstruction and a domain classifier), ranks the regions by health, checks
the week against data rules, and writes the monitoring report with the estimated and
realised performance side by side (``labels-late.html``).
"""

from __future__ import annotations

import sys
import tempfile
import time

import numpy as np
from sklearn.linear_model import LogisticRegression

import modelops
from modelops.validation import check_rules, rules

DAY = 86_400_000
rng = np.random.default_rng(7)


def applicants(n: int, debt: float = 0.3, spread: float = 4.0,
               decoupled: bool = False) -> dict[str, np.ndarray]:
    region = rng.choice(["north", "south", "east"], n)
    income = rng.lognormal(10.5, 0.4, n)
    loan = income * rng.uniform(0.2, 0.6, n)
    if decoupled:   # in the east, loans stop following incomes: each column looks the same
        east = region == "east"
        loan[east] = rng.permutation(loan[east])
    return {"region": region, "income": income, "loan": loan,
            "debt_ratio": rng.beta(debt * spread, (1 - debt) * spread, n)}


def repaid(f: dict[str, np.ndarray]) -> np.ndarray:
    logit = 3.0 - 6.0 * f["debt_ratio"] - 2.0 * f["loan"] / f["income"]
    return (rng.random(len(logit)) < 1 / (1 + np.exp(-logit))).astype(int)


def matrix(f: dict[str, np.ndarray]) -> np.ndarray:
    return np.column_stack((f["debt_ratio"], f["loan"] / f["income"]))


def main(root: str) -> None:
    ops = modelops.connect(root)
    now = int(time.time() * 1000)
    train = applicants(5_000)
    model = LogisticRegression().fit(matrix(train), repaid(train))
    ops.registry.register("loans", model, version="1.0.0")
    ops.registry.promote("loans", "1.0.0", stage="production")
    ops.drift.fit_reference("loans", {k: v for k, v in train.items()})

    with ops.predictions.logger("loans", version="1.0.0") as log:
        past = applicants(6_000)
        p = model.predict_proba(matrix(past))[:, 1]
        ids = log.log_batch(past, (p > 0.5).astype(int).tolist(), probabilities=p,
                            timestamps=np.linspace(now - 37 * DAY, now - 8 * DAY, 6_000,
                                                   dtype=np.int64))
        log.feedback_batch(ids, repaid(past).tolist())             # labels long since in
        week = applicants(7_000, debt=0.37, spread=40.0, decoupled=True)
        p = model.predict_proba(matrix(week))[:, 1]
        log.log_batch(week, (p > 0.5).astype(int).tolist(), probabilities=p,
                      timestamps=np.linspace(now - 7 * DAY, now - 1, 7_000, dtype=np.int64))

    monitor = ops.monitor("loans")
    found = monitor.estimated_performance("7d", every="1d")
    print(f"estimated without labels ({found.estimator}; {found.notes['calibration']}):")
    for start, acc, auc in zip(found.starts, found.estimates["accuracy"],
                               found.estimates["roc_auc"]):
        day = time.strftime("%Y-%m-%d", time.gmtime(start / 1000))
        print(f"  {day}: accuracy {acc.value:.3f} [{acc.lower:.3f}, {acc.upper:.3f}], "
              f"ROC AUC {auc.value:.3f}")
    print(f"  on the labelled month: accuracy {found.reference_metrics['accuracy']:.3f}")

    table = ops.predictions.read("loans", since=now - 7 * DAY, until=now)
    regions = ops.drift.check("loans", dict(table.features), segment_by="region",
                              multivariate=True)
    for segment in regions.segments:
        for result in segment.report.multivariate:
            print(f"{segment.segment}, {result.method}: "
                  f"{'drifted' if result.drifted else 'not drifted'}; columns: "
                  f"{[c for c, _ in result.explanation[:2]]}")

    health = monitor.health("7d", alert=False, segment_by="region")
    print("health by region, worst first:",
          [(s.segment, s.health.status) for s in health.segments])
    checked = check_rules(dict(table.features), [
        rules.between("debt_ratio", 0, 0.8, severity="warning"),
        rules.isin("region", ["north", "south", "east"]),
        rules.row("loan below income", lambda f: f["loan"] < f["income"])])
    print(checked)
    monitor.report("7d", trend_window="1d").to_html("labels-late.html")
    print("wrote labels-late.html")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(tmp)
