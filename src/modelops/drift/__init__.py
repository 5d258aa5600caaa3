"""Drift detection: statistics, profiles, checks, reports."""
