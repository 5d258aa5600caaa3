"""The conformance suites on MLflow's sqlite store, with the differences MLflow forces.

Each skipped test says why; the test below it pins what MLflow does instead, so a change in
MLflow shows up here.
"""

from __future__ import annotations

import math

import pytest

from modelops.client import open_store
from modelops.entities.validators import MAX_NAME_LENGTH
from modelops.errors import InvalidInput
from modelops.testing import (
    DriftStoreSuite,
    RegistryStoreSuite,
    StoreCapabilities,
    TrackingStoreSuite,
)
from modelops.testing.registry import AWKWARD_MODEL_NAMES
from modelops.testing.tracking import T0, assert_same_floats, series
from modelops.uri import parse_uri

# Forced by MLflow, and why.
METRIC_ORDER = ("MLflow returns a metric's history ordered by timestamp then step, not in "
                "logging order")
EXTREME_FLOATS = ("MLflow's SQL store writes ±inf as ±1.7976931348623157e308 and -0.0 as 0.0; "
                  "modelops reads the largest doubles back as ±inf, so they and -0.0 do not "
                  "round-trip")
NEGATIVE_ZERO = "MLflow's SQL store (sqlite) keeps -0.0 as 0.0"
COLON_IN_MODEL_NAME = "MLflow refuses model names holding ':' (InvalidInput)"
DOTTED_MODEL_NAME = ("MLflow refuses model names that a file path would normalize to another "
                     "name, such as '..x' (InvalidInput)")
NEGATIVE_TIMESTAMPS = "MLflow refuses metric timestamps before the epoch (negative)"


class TestMlflowTrackingStore(TrackingStoreSuite):
    """The TrackingStore suite on MLflow's sqlite store (a fresh database per test)."""

    capabilities = StoreCapabilities(concurrent_processes=True)

    @pytest.fixture
    def store(self, sqlite_uri):
        store = open_store("tracking", parse_uri(sqlite_uri()))
        yield store
        store.close()

    def test_metric_history_in_logging_order(self, store, run):
        pytest.skip(METRIC_ORDER)

    def test_metric_values_round_trip_exactly(self, store, run):
        pytest.skip(EXTREME_FLOATS)

    @pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -0.0, 5e-324],
                             ids=["nan", "inf", "-inf", "-0.0", "subnormal"])
    def test_special_latest_value_round_trips(self, store, run, value):
        if value == 0 and math.copysign(1, value) < 0:
            pytest.skip(NEGATIVE_ZERO)
        super().test_special_latest_value_round_trips(store, run, value)

    def test_steps_and_timestamps_round_trip(self, store, run):
        pytest.skip(NEGATIVE_TIMESTAMPS)

    # -- what MLflow does instead ------------------------------------------------------------

    def test_history_comes_in_timestamp_order(self, store, run):
        """MLflow orders a history by timestamp, then step: every point is there."""
        points = [(0, 1.0, T0), (2, 0.5, T0 + 2), (1, 0.7, T0 + 1), (-1, 5.0, T0 + 5)]
        store.log_batch(run.run_id, [series("m", points)])
        history = store.get_metric_history(run.run_id, "m")
        expected = sorted(points, key=lambda p: (p[2], p[0]))
        assert history.steps.tolist() == [p[0] for p in expected]
        assert history.values.tolist() == [p[1] for p in expected]

    def test_int64_steps_and_non_negative_timestamps_round_trip(self, store, run):
        """Steps anywhere in int64 and timestamps from 0 to 2**63-1 come back exactly; a
        negative timestamp is refused with InvalidInput and nothing of the batch is kept."""
        big, small = 2**63 - 1, -(2**63)
        points = [(0, 0.0, 0), (big, 1.0, big), (small, 2.0, 0), (2**53 + 1, 3.0, T0)]
        store.log_batch(run.run_id, [series("m", points)])
        history = store.get_metric_history(run.run_id, "m")
        assert sorted(zip(history.steps.tolist(), history.timestamps.tolist())) == \
            sorted((p[0], p[2]) for p in points)
        latest = store.get_run(run.run_id).data.latest["m"]
        assert (latest.step, latest.timestamp, latest.value) == (big, big, 1.0)
        with pytest.raises(InvalidInput, match="timestamps"):
            store.log_batch(run.run_id, [series("n", [(0, 1.0, -1)])], params={"p": "1"})
        assert dict(store.get_run(run.run_id).params) == {}

    def test_values_other_than_the_extremes_round_trip(self, store, run):
        """NaN, ±inf, subnormals and ordinary doubles come back bit for bit; -0.0 as 0.0."""
        values = [math.nan, math.inf, -math.inf, 0.0, 1e-308, 5e-324, -5e-324,
                  2.2250738585072014e-308, 0.1, 1 / 3, 1e300, 123456789.12345678, 2.0**53 + 2,
                  1.7976931348623155e308]
        store.log_batch(run.run_id, [series("m", [(i, v, T0 + i) for i, v in
                                                  enumerate(values)])])
        assert_same_floats(store.get_metric_history(run.run_id, "m").values.tolist(), values)
        store.log_batch(run.run_id, [series("z", [(0, -0.0, T0)])])
        (zero,) = store.get_metric_history(run.run_id, "z").values.tolist()
        assert zero == 0.0


# The suite registers arbitrary bytes as scikit-learn joblib files; the store says it could
# not also write them as MLflow models, which is right.
@pytest.mark.filterwarnings("ignore:.*not written as an MLflow model")
class TestMlflowRegistryStore(RegistryStoreSuite):
    """The RegistryStore suite on MLflow's sqlite store (a fresh database per test)."""

    capabilities = StoreCapabilities(concurrent_processes=True)

    @pytest.fixture
    def store(self, sqlite_uri):
        store = open_store("registry", parse_uri(sqlite_uri()))
        assert store._db is not None  # the registry reads and writes in SQL here
        yield store
        store.close()

    @pytest.mark.parametrize("name", [
        *AWKWARD_MODEL_NAMES, "x" * MAX_NAME_LENGTH, "é" * MAX_NAME_LENGTH,
        "😀" * MAX_NAME_LENGTH, ".hidden", "..x", "x~y", "versions", "events", "model.json",
    ])
    def test_awkward_valid_model_names(self, store, tmp_path, name):
        if ":" in name:
            pytest.skip(COLON_IN_MODEL_NAME)
        if name.startswith(".."):
            pytest.skip(DOTTED_MODEL_NAME)
        super().test_awkward_valid_model_names(store, tmp_path, name)

    def test_colon_in_model_name_refused(self, store):
        """A name MLflow refuses raises InvalidInput naming the rule, and creates nothing."""
        with pytest.raises(InvalidInput, match="':'"):
            store.create_model(self.new_model("a:b"))
        with pytest.raises(InvalidInput, match="resolve"):
            store.create_model(self.new_model("..x"))
        assert store.list_models() == []


@pytest.mark.filterwarnings("ignore:.*not written as an MLflow model")
class TestMlflowRegistryStoreThroughClient(TestMlflowRegistryStore):
    """The same suite with ``direct_sql=False``: every read and write a call of MLflow's
    client, as against an MLflow server."""

    @pytest.fixture
    def store(self, sqlite_uri):
        store = open_store("registry", parse_uri(sqlite_uri(), {"direct_sql": False}))
        assert store._db is None
        yield store
        store.close()


class TestMlflowDriftStore(DriftStoreSuite):
    """The DriftStore suite on MLflow's sqlite store (a fresh database per test)."""

    capabilities = StoreCapabilities(concurrent_processes=True)

    @pytest.fixture
    def store(self, sqlite_uri):
        store = open_store("drift", parse_uri(sqlite_uri()))
        yield store
        store.close()
