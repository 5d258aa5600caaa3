"""Closing the loop: retraining policies and cycles, champion/challenger routing.

- ``RetrainPolicy(...).evaluate(ops.monitor(model))`` → ``RetrainDecision(retrain, reasons)``.
- ``run_cycle(ops, model, train_fn, policy=..., promotion=...)`` → ``CycleReport``: retrain
  when due, register with lineage, promote or record why not; one cycle per model at a time
  across every process sharing the store (a lease in the model's registry history).
- ``ops.router(model, champion="production", challenger="staging", share=0.1)`` →
  ``Router``: deterministic routing by request key, logged per version; ``evaluate()`` with a
  significance test and the sample still needed; ``conclude()`` through the registry.

See ``docs/lifecycle.md`` and ``docs/routing.md``.
"""

from modelops.lifecycle.cycle import STATUSES, CycleReport, TrainContext, run_cycle
from modelops.lifecycle.lease import CycleRecord, read_cycles
from modelops.lifecycle.policy import TRIGGERS, RetrainDecision, RetrainPolicy
from modelops.lifecycle.router import (
    Assignment,
    Conclusion,
    Evaluation,
    RoutedPrediction,
    Router,
)
from modelops.lifecycle.signed import SignedModel

__all__ = [
    "STATUSES",
    "TRIGGERS",
    "Assignment",
    "Conclusion",
    "CycleRecord",
    "CycleReport",
    "Evaluation",
    "RetrainDecision",
    "RetrainPolicy",
    "RoutedPrediction",
    "Router",
    "SignedModel",
    "TrainContext",
    "read_cycles",
    "run_cycle",
]
