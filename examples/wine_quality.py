"""MLflow's wine-quality tutorial, ported to modelops by the migration guide.

MLflow's ``examples/sklearn_elasticnet_wine/train.py`` fits an ElasticNet to the red
wine-quality data, logs alpha, l1_ratio, RMSE, MAE and R² and the model with its signature,
registering it where the store has a registry; its hyperparameter-tuning quickstart sweeps
the hyperparameters in nested runs, logs the best on the parent run, picks the best run by
searching, registers it, gives it an alias and a tag, and loads it back by alias to predict.
This script does all of that with modelops. Each step's comment (``# mlflow: …``) is the
MLflow call it replaces; docs/migrating-from-mlflow.md lists every one of them with its
translation, and tests/test_wine_quality_example.py runs this script and holds the guide to
naming each call.

The UCI wine-quality CSV is not downloadable here, so the data is a seeded synthetic frame
with the same 11 physico-chemical columns (means and spreads of the red wines) and an integer
``quality`` from 3 to 8 that rises with alcohol and sulphates and falls with volatile
acidity. scikit-learn's bundled ``load_wine`` does not fit: it is a three-class cultivar
problem over 13 other measurements, not a quality score.

    python examples/wine_quality.py                   # store in ./.modelops (or $MODELOPS_URI)
    python examples/wine_quality.py --store ./ops     # any store URI or path
"""

from __future__ import annotations

import argparse
import itertools
import os
import warnings

import numpy as np
import pandas as pd
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

import modelops
import modelops.sklearn

MODEL = "ElasticnetWineModel"
EXPERIMENT = "wine-quality"
#: The sweep: MLflow's tutorial runs train.py with several alpha / l1_ratio pairs.
ALPHAS = (0.01, 0.1, 0.5)
L1_RATIOS = (0.1, 0.5, 0.9)

#: Red wines' column means and standard deviations (UCI wine-quality, red).
COLUMNS = {
    "fixed acidity": (8.32, 1.74), "volatile acidity": (0.53, 0.18),
    "citric acid": (0.27, 0.19), "residual sugar": (2.54, 1.41),
    "chlorides": (0.087, 0.047), "free sulfur dioxide": (15.9, 10.5),
    "total sulfur dioxide": (46.5, 32.9), "density": (0.9967, 0.0019),
    "pH": (3.31, 0.15), "sulphates": (0.66, 0.17), "alcohol": (10.42, 1.07),
}


def wine_frame(rows: int = 1_599, seed: int = 40) -> pd.DataFrame:
    """A synthetic red wine-quality frame: the 11 columns and ``quality`` (3 to 8)."""
    rng = np.random.default_rng(seed)
    data = {}
    for name, (mean, std) in COLUMNS.items():
        values = rng.normal(mean, std, rows)
        data[name] = np.abs(values) if name != "density" else values   # no negative amounts
    frame = pd.DataFrame(data)
    score = (5.64 + 0.35 * (frame["alcohol"] - 10.42) / 1.07
             - 0.25 * (frame["volatile acidity"] - 0.53) / 0.18
             + 0.15 * (frame["sulphates"] - 0.66) / 0.17
             - 0.05 * (frame["total sulfur dioxide"] - 46.5) / 32.9
             + rng.normal(0, 0.55, rows))
    frame["quality"] = np.clip(np.rint(score), 3, 8).astype(int)
    return frame


def eval_metrics(actual: object, pred: object) -> tuple[float, float, float]:
    rmse = float(np.sqrt(mean_squared_error(actual, pred)))
    return rmse, float(mean_absolute_error(actual, pred)), float(r2_score(actual, pred))


def main(store: str) -> dict[str, object]:
    warnings.filterwarnings("ignore")
    modelops.set_uri(store)                                   # mlflow: mlflow.set_tracking_uri
    print(f"tracking store: {modelops.get_uri()}")            # mlflow: mlflow.get_tracking_uri
    modelops.set_experiment(EXPERIMENT)                       # mlflow: mlflow.set_experiment
    ops = modelops.get_client()                               # mlflow: MlflowClient()

    data = wine_frame()
    train, test = train_test_split(data, random_state=40)     # (0.75, 0.25), as train.py
    train_x, test_x = train.drop(["quality"], axis=1), test.drop(["quality"], axis=1)
    train_y, test_y = train[["quality"]], test[["quality"]]
    # mlflow: mlflow.models.infer_signature
    signature = modelops.infer_signature(train_x)

    print(f"\nsweeping {len(ALPHAS) * len(L1_RATIOS)} ElasticNet fits in nested runs")
    with modelops.start_run(name="sweep") as parent:          # mlflow: mlflow.start_run
        # mlflow: mlflow.log_input of mlflow.data.from_pandas
        modelops.log_input(train, name="wine-quality-red",
                           source="synthetic:wine-quality-red?seed=40",
                           context="training", target="quality")
        best = None
        for alpha, l1_ratio in itertools.product(ALPHAS, L1_RATIOS):
            # mlflow: mlflow.start_run(nested=True)
            with modelops.start_run(name=f"alpha={alpha},l1={l1_ratio}",
                                    nested=True) as trial:
                lr = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=42)
                lr.fit(train_x, train_y)
                rmse, mae, r2 = eval_metrics(test_y, lr.predict(test_x))
                modelops.log_param("alpha", alpha)            # mlflow: mlflow.log_param
                modelops.log_param("l1_ratio", l1_ratio)
                modelops.log_metric("rmse", rmse)             # mlflow: mlflow.log_metric
                modelops.log_metrics({"r2": r2, "mae": mae})  # mlflow: mlflow.log_metrics
                modelops.set_tag("sweep", parent.run_id)      # mlflow: mlflow.set_tag
                trial.log_model(lr, "model", register=False,  # mlflow: mlflow.sklearn.log_model
                                signature=signature, input_example=train_x.head(3))
                if best is None or rmse < best[0]:
                    best = (rmse, alpha, l1_ratio)
                print(f"  alpha={alpha:<4} l1_ratio={l1_ratio:<3}  RMSE {rmse:.4f}  "
                      f"MAE {mae:.4f}  R2 {r2:.4f}")
        modelops.log_params({"best_alpha": best[1],           # mlflow: mlflow.log_params
                             "best_l1_ratio": best[2]})
        modelops.log_metric("eval_rmse", best[0])

    # mlflow: mlflow.search_runs
    runs = modelops.search_runs(filter=f"tags.sweep = '{parent.run_id}'",
                                order_by=["metrics.rmse ASC"], output="pandas")
    best_run = runs.iloc[0]
    print(f"\nbest run {best_run['run_id']}: alpha={best_run['params.alpha']}, "
          f"l1_ratio={best_run['params.l1_ratio']}, RMSE {best_run['metrics.rmse']:.4f}")

    # mlflow: mlflow.register_model
    version = ops.registry.register_from_run(best_run["run_id"], "model", MODEL)
    # mlflow: MlflowClient().update_model_version
    ops.registry.describe(MODEL, "ElasticNet on red wine quality, best of the sweep",
                          version=version.version)
    # mlflow: MlflowClient().set_registered_model_alias
    ops.registry.set_alias(MODEL, "champion", version.version)
    # mlflow: MlflowClient().set_model_version_tag
    ops.registry.tag(MODEL, {"validation_status": "approved"}, version=version.version)
    # mlflow: MlflowClient().search_model_versions
    versions = ops.registry.list_versions(MODEL)
    # mlflow: MlflowClient().get_model_version_by_alias
    champion = ops.registry.get_version(MODEL, alias="champion")
    print(f"registered {MODEL} {champion.version} ({len(versions)} version(s)); "
          f"alias champion, tags {dict(champion.tags)}")
    print(f"  trained on {[d.name for d in champion.lineage.datasets]}; needs "
          f"{', '.join(champion.pip_requirements)}")

    # mlflow: mlflow.pyfunc.load_model
    model = modelops.load_model(f"models:/{MODEL}@champion")
    predictions = model.predict(test_x.head(5))               # mlflow: loaded_model.predict
    print(f"champion's predictions for 5 wines: {np.round(predictions, 2).tolist()}")

    # The tutorial's one-line variant: autologging instead of the log calls.
    # mlflow: mlflow.sklearn.autolog
    modelops.sklearn.autolog(registered_model_name=f"{MODEL}-autolog")
    with modelops.start_run(name="autologged"):
        ElasticNet(alpha=best[1], l1_ratio=best[2], random_state=42).fit(train_x, train_y)
    modelops.sklearn.autolog(disable=True)
    autologged = ops.registry.get_version(f"{MODEL}-autolog")
    print(f"autologged fit registered as {autologged.name} {autologged.version} with "
          f"training_rmse {autologged.metrics['training_rmse']:.4f}")
    return {"best": best, "version": champion, "predictions": predictions,
            "parent_run_id": parent.run_id, "autologged": autologged}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=os.environ.get("MODELOPS_URI", ".modelops"),
                        help="store URI or path (default: $MODELOPS_URI or ./.modelops)")
    main(parser.parse_args().store)
