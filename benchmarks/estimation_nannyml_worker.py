"""NannyML's side of ``bench_estimation.py``; runs inside NannyML's own virtualenv.

NannyML 0.13.1 needs ``statsmodels`` beside it and does not import with pandas 3, so
``bench_estimation.py`` makes a virtualenv with ``nannyml==0.13.1``, ``statsmodels`` and
``pandas<3`` and runs this script there::

    <venv>/bin/python benchmarks/estimation_nannyml_worker.py DATA_DIR [--repeats N]

``DATA_DIR`` holds what the main process generated (the same arrays modelops gets): for each
estimation data set ``<name>.npz`` with the reference's ``ref_proba``, ``ref_pred``,
``ref_true`` and the analysis windows' ``ana_proba``, ``ana_pred``, ``ana_true`` and
``ana_window`` (each analysis row's window), and for the multivariate cases
``mv_<case>.npz`` with ``reference`` (rows × columns), ``analysis`` and ``ana_window``.

Every analysis window has the same number of rows, in window order, so NannyML's
``chunk_size`` makes exactly one chunk per window. Timed, per repeat: CBPE (``roc_auc`` and
``accuracy``, binary, NannyML's default isotonic calibration) fitted on the reference and
estimated on all the analysis windows in one call; ``DataReconstructionDriftCalculator``
fitted and calculated the same way. Prints one JSON object on its last stdout line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings


def run_cbpe(path: str, repeats: int) -> dict:
    import nannyml as nml
    import numpy as np
    import pandas as pd

    data = np.load(path)
    ref = pd.DataFrame({"y_pred_proba": data["ref_proba"], "y_pred": data["ref_pred"],
                        "y_true": data["ref_true"]})
    size = int(np.bincount(data["ana_window"]).max())
    ana = pd.DataFrame({"y_pred_proba": data["ana_proba"], "y_pred": data["ana_pred"]})
    values: dict = {}
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        estimator = nml.CBPE(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true",
                             metrics=["roc_auc", "accuracy"],
                             problem_type="classification_binary", chunk_size=size)
        estimator.fit(ref)
        found = estimator.estimate(ana).filter(period="analysis").to_df()
        times.append(time.perf_counter() - t0)
        values = {m: found[(m, "value")].astype(float).tolist() for m in ("accuracy", "roc_auc")}
    return {"seconds": statistics.median(times), "times": times, "estimates": values}


def run_reconstruction(path: str, repeats: int) -> dict:
    import nannyml as nml
    import numpy as np
    import pandas as pd

    data = np.load(path)
    names = [f"c{i}" for i in range(data["reference"].shape[1])]
    ref = pd.DataFrame(data["reference"], columns=names)
    size = int(np.bincount(data["ana_window"]).max())
    ana = pd.DataFrame(data["analysis"], columns=names)
    times, alerts = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        calc = nml.DataReconstructionDriftCalculator(column_names=names, chunk_size=size)
        calc.fit(ref)
        result = calc.calculate(ana).filter(period="analysis").to_df()
        times.append(time.perf_counter() - t0)
        alerts = [bool(a) for a in result[("reconstruction_error", "alert")]]
    return {"seconds": statistics.median(times), "alerts": alerts}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import nannyml

    out = {"nannyml": nannyml.__version__, "cbpe": {}, "reconstruction": {}}
    for name in sorted(os.listdir(args.data_dir)):
        path = os.path.join(args.data_dir, name)
        if name.startswith("mv_"):
            out["reconstruction"][name[3:-4]] = run_reconstruction(path, args.repeats)
        elif name.endswith(".npz"):
            out["cbpe"][name[:-4]] = run_cbpe(path, args.repeats)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
