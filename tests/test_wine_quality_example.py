"""examples/wine_quality.py (MLflow's wine-quality tutorial, ported by the migration guide)
runs, and the guide translates every MLflow call it replaces."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import python_env
from sklearn.linear_model import ElasticNet

import modelops

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "wine_quality.py"
GUIDE = (ROOT / "docs" / "migrating-from-mlflow.md").read_text()
#: The MLflow calls the port replaces: its ``# mlflow: call`` (or ``call of call``) comments.
CALLS = sorted({call for found in re.findall(r"# mlflow: ([\w.()=]+)(?: of ([\w.()=]+))?",
                                              EXAMPLE.read_text())
                for call in found if call})


def _tutorial_table() -> dict[str, str]:
    section = GUIDE.split("## The wine-quality tutorial, ported")[1].split("\n## ")[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 2:
            rows[cells[0].strip("`")] = cells[1]
    return rows


def test_the_example_names_the_tutorials_calls():
    assert len(CALLS) >= 24
    for call in ("mlflow.set_tracking_uri", "mlflow.start_run(nested=True)",
                 "mlflow.models.infer_signature", "mlflow.sklearn.log_model",
                 "mlflow.search_runs", "mlflow.register_model", "mlflow.pyfunc.load_model",
                 "MlflowClient().search_model_versions",
                 "MlflowClient().get_model_version_by_alias"):
        assert call in CALLS


@pytest.mark.parametrize("call", CALLS)
def test_the_guide_translates_every_call(call):
    rows = _tutorial_table()
    assert call in rows, f"the guide's tutorial table lacks {call}"
    assert rows[call] and "`" in rows[call], rows[call]     # and says what it became


@pytest.mark.slow
def test_the_port_runs_end_to_end(tmp_path):
    store = tmp_path / "store"
    out = subprocess.run([sys.executable, str(EXAMPLE), "--store", str(store)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=600, check=True,
                         env=python_env()).stdout
    assert out.count("  alpha=") == 9 and "Traceback" not in out
    ops = modelops.connect(store)
    champion = ops.registry.get_version("ElasticnetWineModel", alias="champion")
    assert champion.tags["validation_status"] == "approved"
    assert champion.description.startswith("ElasticNet on red wine quality")
    assert [c["name"] for c in champion.signature["columns"]][:2] == \
        ["fixed acidity", "volatile acidity"]
    assert [d.name for d in champion.lineage.datasets] == ["wine-quality-red"]
    assert champion.requirements["scikit-learn"]
    # the champion is the sweep's lowest RMSE, and it predicts as that run's model would
    trials = ops.tracking.search_runs("wine-quality", filter="tags.sweep LIKE '%'",
                                      order_by=["metrics.rmse ASC"])
    assert len(trials) == 9 and champion.run_id == trials[0].run_id
    parent = ops.tracking.get_run(trials[0].info.parent_run_id)
    assert parent.params["best_alpha"] == trials[0].params["alpha"]
    assert parent.metrics["eval_rmse"] == pytest.approx(trials[0].metrics["rmse"])
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        import wine_quality
    finally:
        sys.path.remove(str(EXAMPLE.parent))
    data = wine_quality.wine_frame()
    assert list(data.columns) == [*wine_quality.COLUMNS, "quality"]
    assert data["quality"].between(3, 8).all() and data["quality"].nunique() >= 4
    model = ops.registry.load("ElasticnetWineModel", alias="champion")
    assert isinstance(model, ElasticNet)
    assert model.alpha == float(trials[0].params["alpha"])
    autologged = ops.registry.get_version("ElasticnetWineModel-autolog")
    assert autologged.metrics["training_rmse"] > 0
    assert np.isfinite(autologged.metrics["training_r2"])
