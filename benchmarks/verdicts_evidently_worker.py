"""Evidently's side of ``bench_verdicts.py``; runs inside Evidently's own virtualenv.

    <venv>/bin/python benchmarks/verdicts_evidently_worker.py DATA_DIR

``DATA_DIR`` holds, per case ``KEY``, the batches ``KEY.0.npz``, ``KEY.1.npz`` … that
``bench_verdicts.py`` judged with modelops, each with its reference ``KEY.<i>.ref.npz``: one
array per column, named ``num::<column>`` (float64, NaN missing) or ``cat::<column>``
(strings, "" missing). Each batch is checked against its reference with
``Report([DataDriftPreset()]).run(current, reference)`` at Evidently's default settings, the
columns declared numerical or categorical as modelops was told. Prints one JSON object on its
last line: per case, the share of batches where a column drifted and where the dataset
drifted (at least half the columns: DataDriftPreset's default ``drift_share``).
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time
import warnings


def drifted(method: str, score: float, threshold: float) -> bool:
    if "p_value" in method:
        return score < threshold
    return score >= threshold


def frame(path: str):  # -> pd.DataFrame
    import numpy as np
    import pandas as pd

    data = np.load(path, allow_pickle=False)
    columns = {}
    for key in data.files:
        kind, name = key.split("::", 1)
        values = data[key]
        if kind == "cat":
            values = np.where(values == "", None, values.astype(object))
        columns[name] = values
    return pd.DataFrame(columns)


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore")
    data_dir = (argv or sys.argv[1:])[0]
    t0 = time.perf_counter()
    import evidently
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    cases = {}
    batches = sorted(p for p in glob.glob(os.path.join(data_dir, "*.npz"))
                     if not p.endswith(".ref.npz"))
    for path in batches:
        key, _, _ = os.path.basename(path)[: -len(".npz")].rpartition(".")
        reference = frame(path[: -len(".npz")] + ".ref.npz")
        current = frame(path)
        numeric = [c for c in reference.columns if reference[c].dtype.kind == "f"]
        categorical = [c for c in reference.columns if c not in numeric]
        definition = DataDefinition(numerical_columns=numeric,
                                    categorical_columns=categorical)
        ref = Dataset.from_pandas(reference, data_definition=definition)
        cur = Dataset.from_pandas(current, data_definition=definition)
        result = Report([DataDriftPreset()]).run(cur, ref).dict()
        flags = []
        for metric in result["metrics"]:
            config = metric.get("config", {})
            if config.get("type", "").endswith("ValueDrift"):
                flags.append(drifted(str(config.get("method")), float(metric["value"]),
                                     float(config.get("threshold"))))
        case = cases.setdefault(key, {"batches": 0, "any_column": 0, "dataset": 0})
        case["batches"] += 1
        case["any_column"] += any(flags)
        case["dataset"] += bool(flags) and sum(flags) / len(flags) >= 0.5
    for case in cases.values():
        case["any_column"] /= case["batches"]
        case["dataset"] /= case["batches"]
    print(json.dumps({"evidently": evidently.__version__, "cases": cases,
                      "seconds": time.perf_counter() - t0}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
