"""A model that checks its input against its version's signature before predicting.

``ops.load_model(uri, enforce_signature=True)`` returns one, and ``modelops serve`` serves
through one: the same :func:`modelops.validation.conform` checks in a notebook and behind
HTTP. The checked columns are then given to the model as :func:`model_input` does — a
DataFrame of its training columns in training order when it was fitted on named columns,
else a 2-D array in the signature's column order. Given the version's input example, a
model of float columns is called through its array twin (:mod:`modelops.lifecycle.array_twin`),
as the server calls it: the same outputs without scikit-learn's per-call check of the
DataFrame's names, which the signature has checked already.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modelops.errors import InvalidInput
from modelops.lifecycle.array_twin import signature_twin
from modelops.lifecycle.scoring import model_input
from modelops.validation import UNKNOWN_POLICIES, Schema, conform, conform_frame

__all__ = ["SignedModel"]


class SignedModel:
    """``model`` behind its input ``signature``: ``predict`` and ``predict_proba`` take a
    frame (DataFrame, mapping of columns, 2-D array in the signature's order), one record
    (a dict) or a list of records, check it, coerce it, and call the model. A mismatch
    raises ``InputMismatch`` naming every bad field. ``unknown="ignore"`` drops columns
    the signature does not know instead of refusing them. Other attributes are the model's.
    """

    def __init__(self, model: Any, signature: Schema, *, unknown: str = "reject",
                 example: Sequence[Mapping[str, Any]] = ()) -> None:
        if not isinstance(signature, Schema):
            raise InvalidInput(f"expected a Schema, got {type(signature).__name__}",
                               field="signature")
        self.model = model
        self.signature = signature
        if not isinstance(unknown, str) or unknown not in UNKNOWN_POLICIES:
            raise InvalidInput(f"expected one of {', '.join(UNKNOWN_POLICIES)}, got "
                               f"{unknown!r}", field="unknown")
        self.unknown = unknown
        self._twin = signature_twin(model, signature, example)

    def prepare(self, data: Any) -> Any:
        """``data`` checked and coerced, as the model takes it."""
        return model_input(self.model, self._checked(data), self.signature.names)

    def _checked(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping) and not _is_columns(data):
            return conform(self.signature, [data], unknown=self.unknown)
        if isinstance(data, Sequence) and not isinstance(data, (str, bytes)) \
                and all(isinstance(r, Mapping) for r in data):
            return conform(self.signature, data, unknown=self.unknown)
        return conform_frame(self.signature, data, unknown=self.unknown)

    def _call(self, method: str, data: Any) -> Any:
        columns = self._checked(data)
        if self._twin is not None:
            return getattr(self._twin.model, method)(self._twin.input(columns))
        return getattr(self.model, method)(model_input(self.model, columns,
                                                       self.signature.names))

    def predict(self, data: Any) -> Any:
        """The model's predictions for the checked input."""
        return self._call("predict", data)

    def predict_proba(self, data: Any) -> Any:
        """The model's class probabilities for the checked input."""
        return self._call("predict_proba", data)

    def __getattr__(self, name: str) -> Any:
        if name == "model":   # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.model, name)

    def __repr__(self) -> str:
        return f"<SignedModel {self.model!r} columns={list(self.signature.names)}>"


def _is_columns(data: Mapping[str, Any]) -> bool:
    """A mapping of column -> sequence of values (a frame), not one record."""
    return bool(data) and all(hasattr(v, "__len__") and not isinstance(v, (str, bytes))
                              for v in data.values())
