"""Data validation: a schema inferred from reference data and checked against new data, data
quality checks with a score, and train/test split checks.

    from modelops.validation import infer_schema, check_quality, check_split, validate

    schema = infer_schema(train)                 # names, kinds, dtypes, ranges, categories
    result = schema.validate(new_batch)          # ValidationResult: issues, passed
    report = check_quality(train, target="y")    # QualityReport: stats, issues, score
    split = check_split(train, test, target="y") # SplitReport: leakage, label shift
    result = validate(new_batch, reference=train)  # schema + quality issues in one result
    result = check_rules(batch, [rules.between("age", 18, 100), rules.not_null("id")])

Frames are pandas or polars DataFrames, mappings of column name to array, or 2-D numpy arrays
with ``columns=`` naming their columns. Every result is a frozen value object with
``to_dict()`` (plain, JSON-ready data), ``to_table()`` (a list of flat dict rows) and a
readable ``str()``. Bad input raises :class:`~modelops.errors.InvalidInput` naming the frame,
the argument or the column. See ``docs/validation.md`` for the checks and the score formula.
"""

from modelops.validation import rules
from modelops.validation._issues import SEVERITIES, Issue, ValidationResult
from modelops.validation._quality import (
    ClassBalance,
    ColumnQuality,
    QualityReport,
    check_quality,
)
from modelops.validation._rules import Rule, check_rules
from modelops.validation._schema import ColumnSchema, Schema, infer_schema
from modelops.validation._signature import (
    UNKNOWN_POLICIES,
    InputMismatch,
    conform,
    conform_frame,
    infer_signature,
    input_example,
    signature_of,
)
from modelops.validation._split import SplitReport, check_split
from modelops.validation._validate import validate

__all__ = [
    "SEVERITIES",
    "UNKNOWN_POLICIES",
    "ClassBalance",
    "ColumnQuality",
    "ColumnSchema",
    "InputMismatch",
    "Issue",
    "QualityReport",
    "Rule",
    "Schema",
    "SplitReport",
    "ValidationResult",
    "check_quality",
    "check_rules",
    "check_split",
    "conform",
    "conform_frame",
    "infer_schema",
    "infer_signature",
    "input_example",
    "rules",
    "signature_of",
    "validate",
]
