"""Column kinds and conversions of duck-typed frames, on the object columns pandas and
Arrow give (numbers with None, pandas' NA, strings with NaN for missing)."""

import numpy as np
import pandas as pd
import pytest

from modelops.errors import InvalidInput
from modelops.frames import CATEGORICAL, NUMERIC, categorical, column_kind, numeric


def objects(*values):
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@pytest.mark.parametrize("values, kind", [
    (objects(1, None, 2.5, True), NUMERIC),
    (objects(1, pd.NA, 3), NUMERIC),
    (objects("a", float("nan"), None), CATEGORICAL),  # NaN is pandas' missing string
    (objects("a", pd.NA, "b"), CATEGORICAL),
    (objects(None, None), CATEGORICAL),
    (np.array([True, False]), NUMERIC),
])
def test_column_kind(values, kind):
    assert column_kind(values, "c") == kind


def test_a_column_mixing_numbers_and_strings_is_refused():
    with pytest.raises(InvalidInput, match="column 'c': mixes numbers and strings"):
        column_kind(objects("a", 1.0, None), "c")


def test_numeric_turns_missing_values_into_nan():
    np.testing.assert_array_equal(numeric(objects(1, None, 2.5, True), "c"),
                                  [1.0, np.nan, 2.5, 1.0])
    np.testing.assert_array_equal(numeric(objects(1, pd.NA, float("nan")), "c"),
                                  [1.0, np.nan, np.nan])
    with pytest.raises(InvalidInput, match="column 'c': holds values that are not numbers"):
        numeric(objects(1, "x"), "c")


def test_categorical_keeps_strings_and_marks_missing():
    assert categorical(objects("a", float("nan"), None, pd.NA, 3)).tolist() == [
        "a", None, None, None, "3"]
