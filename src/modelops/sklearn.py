"""``modelops.sklearn``: scikit-learn autologging, where ``mlflow.sklearn`` users look for it.

    import modelops.sklearn

    modelops.sklearn.autolog()          # every scikit-learn fit from now on is logged
"""

from __future__ import annotations

from typing import Any

__all__ = ["autolog"]


def autolog(disable: bool = False, **options: Any) -> None:
    """``modelops.autolog`` for scikit-learn alone (XGBoost and LightGBM are left as they
    are); the same options."""
    from modelops.autologging import autolog as autolog_all

    autolog_all(disable, frameworks=("sklearn",), **options)
