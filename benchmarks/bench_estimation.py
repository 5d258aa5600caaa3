"""Estimation and multivariate drift benchmarks: modelops against NannyML 0.13.1.

Performance estimation without labels. For each data set a model is trained on one part, its
scores on a reference part (with labels) fit the estimators, and analysis windows of equal
size are drawn from the rest with a growing covariate shift (rows drawn with weights
``exp(λ z)`` of one standardised feature, λ rising window by window: the inputs move,
``P(y | x)`` does not). Both systems get the same arrays; each window's estimated accuracy and
ROC AUC is compared with the realised value, and the median absolute error over windows is
printed with the time to fit and estimate every window (imports not timed):

- ``breast_cancer`` (scikit-learn's bundled set, 569 rows): a scaled logistic regression
  trained on 167 rows, a 150-row reference, 4 windows of 60 of the other 252;
- ``digits`` (bundled, 1,797 rows): "is the digit ≥ 5" by a logistic regression on the
  pixels, a 500-row reference, 5 windows of 150;
- ``car_loan``: a synthetic car-loan-like set (car value, salary band, debt-to-income,
  loan length, earlier loan repaid, down payment, driver tenure; repaid or not), a gradient
  boosting classifier (uncalibrated scores), a 10,000-row reference, 10 windows of 5,000;
- ``classification``: scikit-learn's ``make_classification`` (20 features), a 5,000-row
  reference, 10 windows of 5,000.

Multivariate drift: two columns correlated +0.9 beside three independent ones (5,000
reference rows), windows of 500 where the correlation is flipped to -0.9, or weakened to
+0.5 — every column's distribution unchanged — and clean windows; found / false alarms for
modelops' ``reconstruction`` and ``domain_classifier``, NannyML's
``DataReconstructionDriftCalculator``, and per-column KS tests with Bonferroni (which cannot
see it).

NannyML runs in its own virtualenv (``nannyml==0.13.1``, ``statsmodels``, ``pandas<3``), made
on first use by this script; ``estimation_nannyml_worker.py`` runs there.

Usage::

    python benchmarks/bench_estimation.py             # everything
    python benchmarks/bench_estimation.py --quick     # fewer repeats
    python benchmarks/bench_estimation.py --json out.json

Targets (from the issue): median error ≤ NannyML's (errors within 0.0001 of each other count
as equal: both compute the same expectation, NannyML rounding its counts to five decimals),
time ≥ 10× faster; multivariate found ≥ NannyML's at ≤ its false alarms. The benchmark
reports what it measures; a FAIL is a finding.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np
from no_scaling import add_scale_option, stops_for_scale

NANNYML_VERSION = "0.13.1"
NANNYML_PIP = [f"nannyml=={NANNYML_VERSION}", "statsmodels", "pandas<3"]
TARGET_SPEEDUP = 10.0
#: Errors closer than this are equal (see the module docstring).
EQUAL_ERRORS = 1e-4
SEED = 20261207
perf = time.perf_counter


# -- data ------------------------------------------------------------------------------------


def shifted_windows(rng: np.random.Generator, z: np.ndarray, n_windows: int, size: int,
                    strength: float) -> list[np.ndarray]:
    """Indices of ``n_windows`` windows of ``size`` rows from a pool, drawn without
    replacement within a window with weights ``exp(λ z)``, λ rising to ``strength``."""
    out = []
    for lam in np.linspace(0, strength, n_windows):
        w = np.exp(lam * (z - z.max()))
        out.append(rng.choice(len(z), size, replace=False, p=w / w.sum()))
    return out


def bundled(name: str, rng: np.random.Generator) -> dict[str, Any]:
    from sklearn.datasets import load_breast_cancer, load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "breast_cancer":
        x, y = load_breast_cancer(return_X_y=True)
        n_train, n_ref, n_windows, size, feature, strength = 167, 150, 4, 60, 0, 2.0
    else:
        x, y = load_digits(return_X_y=True)
        y = (y >= 5).astype(int)
        n_train, n_ref, n_windows, size, feature, strength = 600, 500, 5, 150, None, 2.0
    order = rng.permutation(len(y))
    train, ref, pool = order[:n_train], order[n_train:n_train + n_ref], order[n_train + n_ref:]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.05))
    model.fit(x[train], y[train])
    shift_on = x[pool].sum(axis=1) if feature is None else x[pool, feature]
    z = (shift_on - shift_on.mean()) / shift_on.std()
    windows = shifted_windows(rng, z, n_windows, size, strength)
    return package(model, x[ref], y[ref], [x[pool][w] for w in windows],
                   [y[pool][w] for w in windows])


def car_loan(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    car_value = rng.lognormal(10, 0.5, n)
    salary_band = rng.integers(0, 5, n)
    debt_to_income = rng.beta(2, 5, n)
    loan_length = rng.choice([12, 24, 36, 48, 60], n)
    repaid_before = rng.integers(0, 2, n)
    down_payment = rng.uniform(0, 0.4, n) * car_value
    tenure = rng.gamma(2, 3, n)
    logit = (1.2 - 0.8 * np.log(car_value / 22_000) + 0.5 * salary_band - 4 * debt_to_income
             - 0.015 * loan_length + 0.9 * repaid_before + 3 * down_payment / car_value
             + 0.05 * tenure - 0.9)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    x = np.column_stack((car_value, salary_band, debt_to_income, loan_length, repaid_before,
                         down_payment, tenure))
    return x, y


def synthetic(name: str, rng: np.random.Generator) -> dict[str, Any]:
    from sklearn.datasets import make_classification
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    if name == "car_loan":
        x, y = car_loan(rng, 120_000)
        model: Any = HistGradientBoostingClassifier(max_iter=100, random_state=0)
        shift_column = 2                                       # debt-to-income rises
    else:
        x, y = make_classification(n_samples=120_000, n_features=20, n_informative=8,
                                   n_redundant=4, flip_y=0.05, random_state=SEED % 2**31)
        model = LogisticRegression(max_iter=1000)
        shift_column = 0
    train, ref, pool = np.split(rng.permutation(len(y)), [20_000, 30_000])
    model.fit(x[train], y[train])
    z = (x[pool, shift_column] - x[pool, shift_column].mean()) / x[pool, shift_column].std()
    windows = shifted_windows(rng, z, 10, 5_000, 1.0)
    return package(model, x[ref], y[ref], [x[pool][w] for w in windows],
                   [y[pool][w] for w in windows])


def package(model: Any, x_ref: np.ndarray, y_ref: np.ndarray, x_windows: list[np.ndarray],
            y_windows: list[np.ndarray]) -> dict[str, Any]:
    def scored(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = model.predict_proba(x)[:, 1]
        return p, (p >= 0.5).astype(int)

    ref_proba, ref_pred = scored(x_ref)
    parts = [scored(x) for x in x_windows]
    return {"ref_proba": ref_proba, "ref_pred": ref_pred, "ref_true": y_ref,
            "ana_proba": np.concatenate([p for p, _ in parts]),
            "ana_pred": np.concatenate([q for _, q in parts]),
            "ana_true": np.concatenate(y_windows),
            "ana_window": np.concatenate([np.full(len(y), i) for i, y in enumerate(y_windows)])}


def realised(data: dict[str, Any]) -> dict[str, list[float]]:
    from sklearn.metrics import accuracy_score, roc_auc_score

    out: dict[str, list[float]] = {"accuracy": [], "roc_auc": []}
    for w in np.unique(data["ana_window"]):
        rows = data["ana_window"] == w
        out["accuracy"].append(accuracy_score(data["ana_true"][rows], data["ana_pred"][rows]))
        out["roc_auc"].append(roc_auc_score(data["ana_true"][rows], data["ana_proba"][rows]))
    return out


# -- modelops ------------------------------------------------------------------------------


def modelops_cbpe(data: dict[str, Any], repeats: int) -> dict[str, Any]:
    from modelops.estimation import EstimationData, fit_estimator

    windows = data["ana_window"]
    groups = [np.flatnonzero(windows == w) for w in np.unique(windows)]

    def run() -> tuple[dict[str, list[float]], Any]:
        fitted = fit_estimator(EstimationData(predictions=data["ref_pred"],
                                              scores=data["ref_proba"],
                                              actuals=data["ref_true"]))
        values: dict[str, list[float]] = {"accuracy": [], "roc_auc": []}
        for rows in groups:
            found = fitted.estimate(EstimationData(predictions=data["ana_pred"][rows],
                                                   scores=data["ana_proba"][rows]))
            for metric in values:
                values[metric].append(found[metric].value)
        return values, fitted

    run()                                   # scikit-learn's imports are not timed
    times, values, fitted = [], {}, None
    for _ in range(repeats):
        t0 = perf()
        values, fitted = run()
        times.append(perf() - t0)
    return {"seconds": statistics.median(times), "estimates": values,
            "calibrated": fitted.notes["calibrated"]}


def correlated(rng: np.random.Generator, n: int, rho: float) -> np.ndarray:
    ab = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], n)
    return np.column_stack((ab, rng.normal(0, 1, (n, 3))))


def multivariate_cases(rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    reference = correlated(rng, 5_000, 0.9)
    cases = {}
    for name, rho in (("flipped", -0.9), ("weakened", 0.5), ("clean", 0.9)):
        windows = [correlated(rng, 500, rho) for _ in range(8)]
        cases[name] = {"reference": reference, "analysis": np.vstack(windows),
                       "ana_window": np.repeat(np.arange(8), 500)}
    return cases


def modelops_multivariate(case: dict[str, Any], tmp: str) -> dict[str, Any]:
    """Each window through ``ops.drift.check(..., multivariate=method)`` for the verdicts;
    the methods alone (what ``multivariate=`` adds to a check, the stored profile read once)
    for the time, as NannyML's calculator alone is timed."""
    from scipy import stats

    import modelops
    from modelops.drift.multivariate import check_multivariate

    names = [f"c{i}" for i in range(case["reference"].shape[1])]
    ops = modelops.connect(os.path.join(tmp, "store"))
    frame = {c: case["reference"][:, i] for i, c in enumerate(names)}
    ops.drift.fit_reference("mv", frame)
    profile = ops.drift.reference("mv")
    out: dict[str, Any] = {"reconstruction": [], "domain_classifier": [], "ks_bonferroni": [],
                           "seconds": {}}
    windows = case["ana_window"]
    frames = [{c: case["analysis"][windows == w][:, i] for i, c in enumerate(names)}
              for w in np.unique(windows)]
    for method in ("reconstruction", "domain_classifier"):
        for current in frames:
            report = ops.drift.check("mv", current, multivariate=method, save=False)
            out[method].append(report.multivariate[0].drifted)
        t0 = perf()
        for current in frames:
            check_multivariate(profile, current, method)
        out["seconds"][method] = perf() - t0
    for w in np.unique(windows):
        rows = case["analysis"][windows == w]
        p = [stats.ks_2samp(case["reference"][:, i], rows[:, i]).pvalue
             for i in range(len(names))]
        out["ks_bonferroni"].append(bool(min(p) < 0.05 / len(names)))
    return out


def large_windows(rng: np.random.Generator, n_windows: int, size: int) -> dict[str, Any]:
    """``reconstruction`` on windows of ``size`` rows against a 5,000-row reference: on every
    row, and on the uniform sample of ``CURRENT_ROWS`` rows a check takes — how often each
    flags clean windows and correlation shifts, and its time."""
    from modelops.drift import multivariate as mv
    from modelops.drift.profile import profile_frame

    names = [f"c{i}" for i in range(5)]
    reference = correlated(rng, 5_000, 0.9)
    profile = profile_frame("mv", {c: reference[:, i] for i, c in enumerate(names)})
    sampled_rows = mv.CURRENT_ROWS
    out: dict[str, Any] = {}
    for case, rho in (("clean", 0.9), ("rho 0.9 -> 0.85", 0.85), ("rho 0.9 -> 0.8", 0.8)):
        found = {"every row": 0, "sampled": 0}
        seconds = {"every row": 0.0, "sampled": 0.0}
        for _ in range(n_windows):
            rows = correlated(rng, size, rho)
            frame = {c: rows[:, i] for i, c in enumerate(names)}
            for mode, limit in (("every row", size), ("sampled", sampled_rows)):
                mv.CURRENT_ROWS = limit
                try:
                    t0 = perf()
                    (result,) = mv.check_multivariate(profile, frame, "reconstruction")
                    seconds[mode] += perf() - t0
                finally:
                    mv.CURRENT_ROWS = sampled_rows
                found[mode] += result.drifted
        out[case] = {"found": found, "seconds": seconds}
    return out


# -- NannyML --------------------------------------------------------------------------------


def default_venv() -> str:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "modelops-bench", f"nannyml-{NANNYML_VERSION}-venv")


def ensure_nannyml(venv: str, timeout: float) -> tuple[str | None, str]:
    """NannyML's virtualenv: (its python, a message), or (None, why not)."""
    py = os.path.join(venv, "Scripts" if os.name == "nt" else "bin",
                      "python.exe" if os.name == "nt" else "python")
    check = [py, "-c", "import nannyml; print(nannyml.__version__)"]

    def ready() -> bool:
        if not os.path.exists(py):
            return False
        proc = subprocess.run(check, capture_output=True, text=True, check=False)
        return proc.returncode == 0 and proc.stdout.strip().endswith(NANNYML_VERSION)

    if ready():
        return py, f"using {venv}"
    print(f"  making NannyML's virtualenv at {venv} (pip install {' '.join(NANNYML_PIP)}) ...",
          flush=True)
    t0 = perf()
    try:
        if not os.path.exists(py):
            subprocess.run([sys.executable, "-m", "venv", venv], check=True,
                           capture_output=True, text=True, timeout=timeout)
        proc = subprocess.run([py, "-m", "pip", "install", "--quiet",
                               "--disable-pip-version-check", *NANNYML_PIP],
                              capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError) as e:
        return None, f"could not make the virtualenv at {venv}: {e}"
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return None, f"pip install failed in {venv}: " + " | ".join(tail)
    if not ready():
        return None, f"nannyml {NANNYML_VERSION} does not import in {venv}"
    return py, f"made {venv} in {perf() - t0:.0f} s"


def run_nannyml(py: str, data_dir: str, repeats: int) -> dict[str, Any] | None:
    worker = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "estimation_nannyml_worker.py")
    proc = subprocess.run([py, worker, data_dir, "--repeats", str(repeats)],
                          capture_output=True, text=True, timeout=3600, check=False)
    if proc.returncode != 0:
        print(f"  NannyML's worker failed: {proc.stderr.strip()[-800:]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- report ----------------------------------------------------------------------------------


def median_error(estimates: list[float], truth: list[float]) -> float:
    return float(np.median(np.abs(np.asarray(estimates) - np.asarray(truth))))


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1e3:.1f} ms"


def table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat")
    parser.add_argument("--nannyml-venv", default=default_venv(), metavar="PATH")
    parser.add_argument("--no-nannyml", action="store_true")
    parser.add_argument("--json", metavar="PATH")
    add_scale_option(parser)
    args = parser.parse_args(argv)
    if stops_for_scale(parser, args):
        return 0
    repeats = 1 if args.quick else 5
    rng = np.random.default_rng(SEED)
    print(f"python {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} cores; seed {SEED}")
    sets = {name: bundled(name, rng) for name in ("breast_cancer", "digits")}
    sets.update({name: synthetic(name, rng) for name in ("car_loan", "classification")})
    cases = multivariate_cases(rng)
    results: dict[str, Any] = {"estimation": {}, "multivariate": {}}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = os.path.join(tmp, "data")
        os.makedirs(data_dir)
        for name, data in sets.items():
            np.savez(os.path.join(data_dir, f"{name}.npz"), **data)
        for name, case in cases.items():
            np.savez(os.path.join(data_dir, f"mv_{name}.npz"), **case)
        nanny = None
        if not args.no_nannyml:
            py, why = ensure_nannyml(args.nannyml_venv, timeout=1800)
            print(f"NannyML: {why}")
            if py is not None:
                nanny = run_nannyml(py, data_dir, repeats)
        rows, ok = [], True
        for name, data in sets.items():
            truth = realised(data)
            ours = modelops_cbpe(data, repeats)
            theirs = None if nanny is None else nanny["cbpe"][name]
            entry: dict[str, Any] = {"windows": len(truth["accuracy"]),
                                     "modelops_seconds": ours["seconds"],
                                     "calibrated": ours["calibrated"]}
            for metric in ("accuracy", "roc_auc"):
                mine = median_error(ours["estimates"][metric], truth[metric])
                other = None if theirs is None else median_error(theirs["estimates"][metric],
                                                                 truth[metric])
                entry[f"{metric}_error"] = {"modelops": mine, "nannyml": other}
                passed = other is None or mine <= other + EQUAL_ERRORS
                ok &= passed
                rows.append([name, metric, str(entry["windows"]), f"{mine:.4f}",
                             "-" if other is None else f"{other:.4f}",
                             "PASS" if passed else "FAIL"])
            entry["nannyml_seconds"] = None if theirs is None else theirs["seconds"]
            results["estimation"][name] = entry
        print("\nMedian absolute error of the estimate over windows (target: ≤ NannyML's)")
        table(["data set", "metric", "windows", "modelops", f"NannyML {NANNYML_VERSION}", ""],
              rows)
        rows = []
        for name, entry in results["estimation"].items():
            other = entry["nannyml_seconds"]
            ratio = None if other is None else other / entry["modelops_seconds"]
            passed = ratio is None or ratio >= TARGET_SPEEDUP
            ok &= passed
            rows.append([name, fmt_time(entry["modelops_seconds"]), fmt_time(other),
                         "-" if ratio is None else f"{ratio:.1f}×", f"≥ {TARGET_SPEEDUP:g}×",
                         "PASS" if passed else "FAIL"])
        print("\nFit on the reference and estimate every window (imports not timed)")
        table(["data set", "modelops", "NannyML", "ratio", "target", ""], rows)
        rows = []
        for name, case in cases.items():
            ours = modelops_multivariate(case, tmp)
            theirs = None if nanny is None else nanny["reconstruction"][name]
            entry = {"modelops": ours, "nannyml": theirs}
            results["multivariate"][name] = entry
            what = "false alarms" if name == "clean" else "found"
            rows.append([name, what, f"{sum(ours['reconstruction'])}/8",
                         f"{sum(ours['domain_classifier'])}/8",
                         "-" if theirs is None else f"{sum(theirs['alerts'])}/8",
                         f"{sum(ours['ks_bonferroni'])}/8"])
        print("\nCorrelation-only shifts, windows of 500 (two columns of five; marginals "
              "unchanged)")
        table(["windows", "", "reconstruction", "domain classifier", "NannyML reconstruction",
               "KS + Bonferroni"], rows)
        mv = results["multivariate"]
        if nanny is not None:
            for method in ("reconstruction", "domain_classifier"):
                found = sum(sum(mv[c]["modelops"][method]) for c in ("flipped", "weakened"))
                theirs_found = sum(sum(mv[c]["nannyml"]["alerts"])
                                   for c in ("flipped", "weakened"))
                alarms = sum(mv["clean"]["modelops"][method])
                passed = found >= theirs_found and alarms <= sum(mv["clean"]["nannyml"]["alerts"])
                ok &= passed
                print(f"  {method}: found {found}/16 vs NannyML {theirs_found}/16, false alarms "
                      f"{alarms}/8: {'PASS' if passed else 'FAIL'}")
            times = {m: fmt_time(mv["flipped"]["modelops"]["seconds"][m])
                     for m in ("reconstruction", "domain_classifier")}
            print(f"  8 windows (the methods alone): reconstruction {times['reconstruction']}, "
                  f"domain classifier {times['domain_classifier']}; NannyML's reconstruction "
                  f"(fit and calculate) {fmt_time(mv['flipped']['nannyml']['seconds'])}")
    n_large = 5 if args.quick else 20
    large = large_windows(rng, n_large, 200_000)
    results["multivariate_large"] = large
    print(f"\nreconstruction on {n_large} windows of 200,000 rows each against a 5,000-row "
          f"reference: every row, and the sample of 100,000 a check takes")
    table(["windows", "", "every row", "sampled", "time: every row", "sampled"],
          [[case, "false alarms" if case == "clean" else "found",
            f"{e['found']['every row']}/{n_large}", f"{e['found']['sampled']}/{n_large}",
            fmt_time(e["seconds"]["every row"] / n_large),
            fmt_time(e["seconds"]["sampled"] / n_large)] for case, e in large.items()])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    print("\nALL PASS" if ok else "\nSOME FAIL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
