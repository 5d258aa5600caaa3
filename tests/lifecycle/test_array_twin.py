"""A model's array twin computes what the model computes on the frame, bit for bit, or is
not made."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from modelops.lifecycle.array_twin import array_twin

COLUMNS = ["amount", "age", "score"]


def data(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.normal(size=(n, len(COLUMNS))) * [20.0, 10.0, 1.0] + [50, 40, 0],
                     columns=COLUMNS)
    y = (x["amount"] / 20 - x["score"] + rng.normal(0, 0.5, n) > 2.5).astype(int).to_numpy()
    return x, y


def example(x: pd.DataFrame) -> list[dict]:
    return x.head(5).to_dict(orient="records")


@pytest.mark.parametrize("make", [
    lambda: make_pipeline(StandardScaler(), LogisticRegression()),
    lambda: RandomForestClassifier(n_estimators=10, random_state=0),
    lambda: make_pipeline(make_pipeline(StandardScaler()), LogisticRegression()),
], ids=["scaler+logistic", "forest", "nested pipeline"])
def test_the_twin_gives_the_models_outputs_bit_for_bit_without_a_warning(make):
    x, y = data()
    model = make().fit(x, y)
    twin = array_twin(model, example(x))
    assert twin is not None
    fresh, _ = data(300, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no "X does not have valid feature names"
        for method in ("predict", "predict_proba"):
            got = getattr(twin, method)(fresh.to_numpy())
            assert np.array_equal(got, getattr(model, method)(fresh))
    # The model itself is untouched: it still checks the names it was fitted on.
    assert list(model.feature_names_in_) == COLUMNS
    with pytest.raises(ValueError, match="feature names"):
        model.predict(fresh[COLUMNS[::-1]])


def test_a_regressor_gets_a_twin_too():
    x, y = data()
    model = make_pipeline(StandardScaler(), LinearRegression()).fit(x, x["amount"] * 2 + y)
    twin = array_twin(model, example(x))
    assert np.array_equal(twin.predict(x.to_numpy()), model.predict(x))


@pytest.mark.parametrize("make", [
    # selects its columns by name
    lambda: make_pipeline(make_column_transformer((StandardScaler(), ["amount", "score"]),
                                                  remainder="passthrough"),
                          LogisticRegression()),
    # its function may use the names
    lambda: make_pipeline(FunctionTransformer(lambda f: f[["amount", "score"]]),
                          LogisticRegression()),
    # hands a frame with names to the next step, which checks them
    lambda: make_pipeline(StandardScaler(), LogisticRegression()).set_output(transform="pandas"),
], ids=["column transformer", "function transformer", "pandas output"])
def test_a_model_that_uses_the_names_gets_no_twin(make):
    x, y = data()
    model = make().fit(x, y)
    assert array_twin(model, example(x)) is None


def test_no_twin_without_names_an_example_or_numbers():
    x, y = data()
    assert array_twin(LogisticRegression().fit(x.to_numpy(), y), example(x)) is None
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    assert array_twin(model, []) is None
    assert array_twin(model, [{**row, "age": "forty"} for row in example(x)]) is None


def test_a_model_from_another_library_gets_no_twin():
    x, y = data()

    class Wrapped:
        """Not scikit-learn's: what it does with the names is unknown."""

        def __init__(self, inner):
            self.inner = inner
            self.feature_names_in_ = inner.feature_names_in_

        def predict(self, frame):
            return self.inner.predict(frame)

    model = Wrapped(make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y))
    assert array_twin(model, example(x)) is None
