"""A model logged with a run on S3, registered later from the run."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

import modelops


def test_log_model_then_register_from_run(s3_uri):
    ops = modelops.connect(s3_uri)
    X = np.random.default_rng(0).normal(size=(40, 2))
    model = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    with ops.tracking.start_run(experiment="train") as run:
        run.log_metric("f1", 0.8)
        run.log_model(model, "clf", register=False)
    assert ops.registry.list_models() == []
    version = ops.registry.register_from_run(run.run_id, "clf", "churn")
    assert version.run_id == run.run_id and version.metrics == {"f1": 0.8}
    np.testing.assert_array_equal(ops.registry.load("churn").coef_, model.coef_)
