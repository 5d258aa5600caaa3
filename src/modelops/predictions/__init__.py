"""Prediction logging: a buffered logger, day-partitioned storage, reads joined to feedback."""

from modelops.predictions.logger import PredictionLogger
from modelops.predictions.service import Predictions

__all__ = ["PredictionLogger", "Predictions"]
