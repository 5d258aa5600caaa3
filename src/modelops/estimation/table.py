"""The estimator table: every performance estimator, built-in or from a plugin, by name."""

from __future__ import annotations

from modelops.entities.estimation import Estimator
from modelops.errors import InvalidInput

__all__ = ["DEFAULT_ESTIMATORS", "estimator_for", "estimator_table"]

#: The estimator used for a task when none is named.
DEFAULT_ESTIMATORS = {"classification": "cbpe", "regression": "dle"}


def estimator_table() -> dict[str, Estimator]:
    """Every estimator the loaded plugins offer (the built-in ones included), by name; one of
    a plugin registered later wins over one of the same name registered earlier."""
    from modelops.plugins import hook

    out: dict[str, Estimator] = {}
    for found in hook("modelops_estimators")():
        for estimator in found or ():
            out.setdefault(estimator.name, estimator)
    return out


def estimator_for(task: str | None, name: str | None = None) -> Estimator:
    """The estimator named ``name``, else the default one for ``task``; ``InvalidInput`` when
    there is none or it estimates another task."""
    table = estimator_table()
    if name is None:
        if task not in DEFAULT_ESTIMATORS:
            raise InvalidInput(f"cannot tell which estimator to use for task {task!r}; pass "
                               "task= or estimator=", field="estimator")
        name = DEFAULT_ESTIMATORS[task]
    if name not in table:
        raise InvalidInput(f"unknown estimator {name!r}; expected one of "
                           f"{', '.join(sorted(table))}", field="estimator")
    found = table[name]
    if task is not None and found.task != task:
        raise InvalidInput(f"{name} estimates {found.task} models, this one is {task}",
                           field="estimator")
    return found
