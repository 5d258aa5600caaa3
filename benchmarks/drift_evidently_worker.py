"""Evidently's side of ``bench_drift.py``; runs inside Evidently's own virtualenv.

Evidently 0.7.23 does not import with pandas 3, so ``bench_drift.py`` makes a virtualenv with
``evidently==0.7.23`` and ``pandas<3`` and runs this script there::

    <venv>/bin/python benchmarks/drift_evidently_worker.py DATA_DIR [--repeats N]

``DATA_DIR`` holds the frames ``bench_drift.py`` generated (the same arrays every other system
gets): ``meta.json`` (column names, which numeric columns hold integers, the categorical
levels), ``ref_num.npy`` / ``cur_num.npy`` (numeric columns, one row per column, float64) and
``ref_cat.npy`` / ``cur_cat.npy`` (categorical level codes, one row per column).

The frames are rebuilt as pandas DataFrames (untimed): float columns as float64, integer
columns as int64, categorical columns as object columns of Python strings, which is what the
main process hands to modelops. Timed, per repeat::

    cur = Dataset.from_pandas(current_df, data_definition=definition)
    ref = Dataset.from_pandas(reference_df, data_definition=definition)
    snapshot = Report([DataDriftPreset()]).run(cur, ref)

``definition`` names the 40 numeric and 10 categorical columns (modelops is told the same
with ``categorical=[...]``); without it Evidently would call an integer column with 10 or
fewer distinct values categorical. The drift methods and thresholds are Evidently's
defaults. Prints one JSON object on its last stdout line: the times, and per column the
method Evidently chose, its threshold, its score and whether it called the column drifted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings


def load_frames(data_dir: str):  # -> tuple[pd.DataFrame, pd.DataFrame, dict]
    import numpy as np
    import pandas as pd

    with open(os.path.join(data_dir, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    levels = {name: np.asarray(lv, dtype=object) for name, lv in meta["levels"].items()}
    integer = set(meta["integer_columns"])

    def frame(prefix: str) -> pd.DataFrame:
        num = np.load(os.path.join(data_dir, f"{prefix}_num.npy"))
        cat = np.load(os.path.join(data_dir, f"{prefix}_cat.npy"))
        data = {}
        for i, name in enumerate(meta["numeric"]):
            col = num[i]
            data[name] = col.astype(np.int64) if name in integer else col.copy()
        for i, name in enumerate(meta["categorical"]):
            data[name] = levels[name][cat[i]]
        # Keep the order of meta["columns"] (the order modelops gets).
        return pd.DataFrame({name: data[name] for name in meta["columns"]})

    return frame("ref"), frame("cur"), meta


# Whether a score means drift: p-values drift below the threshold, distances at or above it
# (evidently/legacy/calculations/stattests/*.py). Evidently's defaults for these frames are
# "Wasserstein distance (normed)" and "Jensen-Shannon distance" above 1,000 rows, "K-S
# p_value", "chi-square p_value" and "Z-test p_value" at or below.
def drifted(method: str, score: float, threshold: float) -> bool | None:
    if "p_value" in method:
        return score < threshold
    if any(k in method for k in ("distance", "PSI", "divergence", "Wasserstein")):
        return score >= threshold
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)

    warnings.filterwarnings("ignore")
    t0 = time.perf_counter()
    import evidently
    import numpy as np
    import pandas as pd
    import scipy
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    import_s = time.perf_counter() - t0

    reference, current, meta = load_frames(args.data_dir)
    definition = DataDefinition(
        numerical_columns=list(meta["numeric"]), categorical_columns=list(meta["categorical"])
    )

    times = []
    snapshot = None
    for _ in range(max(1, args.repeats)):
        t0 = time.perf_counter()
        cur = Dataset.from_pandas(current, data_definition=definition)
        ref = Dataset.from_pandas(reference, data_definition=definition)
        snapshot = Report([DataDriftPreset()]).run(cur, ref)
        times.append(time.perf_counter() - t0)

    # Read the verdicts (untimed).
    result = snapshot.dict()
    columns = {}
    count = None
    for metric in result["metrics"]:
        config = metric.get("config", {})
        kind = config.get("type", "")
        if kind.endswith("ValueDrift"):
            score = float(metric["value"])
            method = str(config.get("method"))
            threshold = float(config.get("threshold"))
            columns[config["column"]] = {
                "method": method,
                "threshold": threshold,
                "score": score,
                "drifted": drifted(method, score, threshold),
            }
        elif kind.endswith("DriftedColumnsCount"):
            count = metric["value"].get("count")
    flagged = sum(1 for c in columns.values() if c["drifted"])
    out = {
        "evidently": evidently.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": sys.version.split()[0],
        "rows": len(current),
        "import_s": import_s,
        "times_s": times,
        "median_s": statistics.median(times),
        "columns": columns,
        "drifted_columns_count": count,
        # Evidently's own count of drifted columns against the per-column verdicts read here.
        "count_agrees": count is not None and round(count) == flagged,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
