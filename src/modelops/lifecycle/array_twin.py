"""A scikit-learn model fitted on named numeric columns, taking a float array instead.

scikit-learn checks a DataFrame's column names and dtypes on every call (through narwhals
and pandas: about 0.3 ms, whatever the rows), then converts it to an array. A served model
answering one record per request spends more than half of its time there. When the model's
first step is one of scikit-learn's own estimators, that check is all the names are used
for: given the same values as a float array in training order, the model computes the
same thing — except that it warns that the array has no names. The *twin* is the model with
that first step's record of names removed (shallow copies: the fitted arrays are shared,
not copied), so it takes the array without a warning.

A twin is only made when it gives bit-identical outputs to the model (every one of
``predict``, ``predict_proba`` and ``decision_function`` the model has) on the version's
input example, without a warning; otherwise :func:`array_twin` returns None and callers
keep the DataFrame. Steps that use the names themselves (``ColumnTransformer``,
``FunctionTransformer``) and estimators from other libraries never get a twin. The names
were checked before the twin is called: the input contract (``modelops.validation.conform``)
has put the columns in training order.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from modelops.lifecycle.scoring import feature_names, model_input

__all__ = ["ArrayTwin", "array_twin", "signature_twin"]

#: scikit-learn steps that select or hand on columns by name: a twin would change them.
_USES_NAMES = frozenset({"ColumnTransformer", "FunctionTransformer"})
_OUTPUTS = ("predict", "predict_proba", "decision_function")


def array_twin(model: Any, example: Sequence[Mapping[str, Any]]) -> Any | None:
    """The model as it takes a 2-D float64 array of its training columns in order, or None
    when it cannot be trusted to compute the same thing (see the module's docstring).
    ``example`` is a few records (column -> value) the check runs on."""
    import numpy as np

    names = feature_names(model)
    if names is None or not example:
        return None
    twin = _without_names(model)
    if twin is None:
        return None
    try:
        frame = model_input(model, {n: [row.get(n) for row in example] for n in names})
        array = frame.to_numpy(dtype=np.float64)
    except Exception:   # an example the model cannot take, or not numeric: keep the frame
        return None
    if not all(dtype == np.float64 for dtype in frame.dtypes):
        return None
    for method in _OUTPUTS:
        if not hasattr(model, method):
            continue
        try:
            expected = np.asarray(getattr(model, method)(frame))
        except Exception:
            continue     # e.g. predict_proba of SVC(probability=False): never asked of it
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                got = np.asarray(getattr(twin, method)(array))
            except Exception:
                return None
        if caught or got.dtype != expected.dtype or got.shape != expected.shape \
                or not np.array_equal(got, expected, equal_nan=got.dtype.kind in "fc"):
            return None
    return twin


@attrs.frozen
class ArrayTwin:
    """A model's twin and the training columns it takes, in order."""

    model: Any
    columns: tuple[str, ...]

    def input(self, checked: Mapping[str, Any]) -> Any:
        """Columns checked by the signature (name -> float64 array, as ``conform`` gives
        them) as the twin takes them: one 2-D array in training order."""
        import numpy as np

        return np.column_stack([checked[name] for name in self.columns])


def signature_twin(model: Any, signature: Any, example: Sequence[Mapping[str, Any]]
                   ) -> ArrayTwin | None:
    """The model's twin, when input checked by ``signature`` (a
    :class:`~modelops.validation.Schema`) can be given to it: every column of the signature
    a float one (so the checked columns are float64 arrays), every training column in the
    signature. Else None."""
    names = feature_names(model)
    if signature is None or names is None or not set(names) <= set(signature.names) \
            or any(column.dtype != "float" for column in signature.columns):
        return None
    twin = array_twin(model, [dict(row) for row in example])
    return None if twin is None else ArrayTwin(twin, tuple(names))


def _without_names(estimator: Any) -> Any | None:
    """A shallow copy of ``estimator`` whose first step forgets its training columns' names,
    or None when that step is not one of scikit-learn's own or uses the names itself."""
    kind = type(estimator)
    if not kind.__module__.startswith("sklearn."):
        return None
    steps = getattr(estimator, "steps", None)
    if kind.__name__ == "Pipeline" and isinstance(steps, list):
        for i, (name, step) in enumerate(steps):
            if step is None or step == "passthrough":
                continue
            first = _without_names(step)
            if first is None:
                return None
            twin = copy.copy(estimator)
            twin.steps = [*steps[:i], (name, first), *steps[i + 1:]]
            return twin
        return None
    if kind.__name__ in _USES_NAMES or "feature_names_in_" not in vars(estimator):
        return None
    twin = copy.copy(estimator)
    del twin.feature_names_in_
    return twin
