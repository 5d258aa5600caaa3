"""Autologging: ``modelops.autolog()`` logs every scikit-learn fit without a line of logging.

Fitting an estimator, a pipeline or a parameter search (``GridSearchCV``,
``RandomizedSearchCV``) logs, into this thread's active run (``modelops.start_run``) or a
run of its own started for the fit:

- params: ``get_params(deep=True)``, so a pipeline's ``step__param`` names too;
- training metrics: ``training_accuracy``, ``_precision``, ``_recall`` and ``_f1`` for a
  classifier (of a binary task's positive class, else macro-averaged, as scikit-learn's
  defaults), ``training_mse``, ``_rmse``, ``_mae`` and ``_r2`` for a regressor, on the data
  it was fitted on;
- the fitted model, stored with the run under ``model/`` (``register_from_run`` registers it
  later) and registered only when ``registered_model_name`` is given;
- an input example: the first rows of ``X`` as ``input_example.json``;
- the training data as the run's dataset ``training`` (``run.log_input``: digest, schema,
  drift profile), ``X``'s columns and ``y`` as the target, when ``X`` is a frame with column
  names (an array names no columns a later drift check could match, so it is not logged);
  a second fit on other data in one run logs ``training-<digest>``;
- for a search: the best params (``best_<param>``) and cross-validated score on the run, and
  one child run per candidate with its params and scores.

XGBoost and LightGBM estimators are logged through their scikit-learn API when those
packages are installed. Autologging never breaks a fit: a failure to log is an
``AutologWarning`` and the fit goes on; a fit that raises marks the run autologging started
as failed, and the error is the user's.
"""

from __future__ import annotations

import threading

import attrs

from modelops import _patching as patching
from modelops.entities.validators import check_bool

__all__ = ["AutologSettings", "autolog", "settings"]

#: Frameworks ``modelops.autolog()`` covers (each where its package is installed).
FRAMEWORKS = ("sklearn", "xgboost", "lightgbm")


@attrs.frozen(kw_only=True)
class AutologSettings:
    """What autologging logs for each fit."""

    log_models: bool = True
    registered_model_name: str | None = None
    log_input_examples: bool = True
    log_training_metrics: bool = True
    log_datasets: bool = True
    silent: bool = False


_lock = threading.Lock()
_settings: dict[str, AutologSettings] = {}


def settings(framework: str) -> AutologSettings | None:
    """The settings autologging of ``framework`` runs with, or None when it is off."""
    return _settings.get(framework)


def autolog(disable: bool = False, *, log_models: bool = True,
            registered_model_name: str | None = None, log_input_examples: bool = True,
            log_training_metrics: bool = True, log_datasets: bool = True, silent: bool = False,
            frameworks: tuple[str, ...] = FRAMEWORKS) -> None:
    """Turn on autologging of scikit-learn fits (and XGBoost's and LightGBM's scikit-learn
    estimators where installed); ``disable=True`` turns it off and restores every patched
    method. Calling it again replaces the settings.

    ``log_models``: store each fitted model with its run; ``registered_model_name``: also
    register it as a version of that model; ``log_input_examples``: the first rows of ``X``;
    ``log_training_metrics``: metrics on the training data; ``log_datasets``: the training
    frame as the run's input (``run.log_input``); ``silent``: no warnings when
    logging fails (the fit goes on either way).
    """
    for flag, field in ((disable, "disable"), (log_models, "log_models"),
                        (log_input_examples, "log_input_examples"),
                        (log_training_metrics, "log_training_metrics"),
                        (log_datasets, "log_datasets"), (silent, "silent")):
        check_bool(flag, field)
    if registered_model_name is not None:
        from modelops.entities.registry import RegisteredModel

        RegisteredModel(name=registered_model_name)  # InvalidInput for a bad name, now
    from modelops.autologging import sklearn as flavor

    chosen = flavor.check_frameworks(frameworks)
    with _lock:
        if disable:
            for framework in chosen:
                _settings.pop(framework, None)
                patching.unpatch_group(framework)
            return
        new = AutologSettings(log_models=log_models,
                              registered_model_name=registered_model_name,
                              log_input_examples=log_input_examples,
                              log_training_metrics=log_training_metrics,
                              log_datasets=log_datasets, silent=silent)
        for framework in chosen:
            if flavor.install(framework):
                _settings[framework] = new
