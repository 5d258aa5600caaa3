"""``modelops.validate``: the schema and quality checks in one call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelops.errors import InvalidInput
from modelops.validation._frame import CATEGORICAL, read
from modelops.validation._issues import Issue, ValidationResult
from modelops.validation._quality import check_quality
from modelops.validation._rules import rule_issues
from modelops.validation._schema import Schema, _infer

__all__ = ["validate"]

# A quality issue that repeats what the schema check already said about a column.
_SAID_BY_SCHEMA = {"missing_values": "nulls", "infinite_values": "infinite_values",
                   "empty_frame": "empty_frame"}


def validate(frame: Any, reference: Any = None, schema: Schema | None = None, *,
             range_tolerance: float = 0.0, categorical: Sequence[str] | None = None,
             max_categories: int = 50, columns: Sequence[str] | None = None,
             rules: Sequence[Any] | None = None, **quality_kwargs: Any) -> ValidationResult:
    """Validate ``frame``: against a schema when there is one, and for quality always.

    The schema is ``schema``, or else inferred from ``reference`` with
    ``infer_schema(reference, categorical, max_categories)``; pass one or the other, not both.
    Its issues (see :meth:`Schema.validate`, with ``range_tolerance``) come first, then those of
    ``check_quality(frame, **quality_kwargs)`` (``target``, ``outlier_method``, ``iqr_k``,
    ``z_threshold``), leaving out a quality issue that repeats a schema one (missing values
    already reported as ``nulls``, infinities, an empty frame). The result's ``score`` is the
    quality score. Columns the schema calls categorical are categorical for the quality checks
    too. ``columns`` names the columns of 2-D numpy arrays (the same for frame and reference).
    ``rules`` (``modelops.validation.rules``) are checked last; each broken rule is an issue
    of its severity.
    """
    if schema is not None and reference is not None:
        raise InvalidInput("pass a reference or a schema, not both", field="schema")
    if schema is not None and not isinstance(schema, Schema):
        raise InvalidInput(f"expected a Schema, got {type(schema).__name__}", field="schema")
    if reference is not None:
        schema = _infer(reference, categorical, max_categories, columns, "reference")
    issues: list[Issue] = []
    forced = set(categorical or ())
    if schema is not None:
        issues.extend(schema.validate(frame, range_tolerance=range_tolerance,
                                      columns=columns).issues)
        present = set(read(frame, "frame", columns))
        forced = (forced | {c.name for c in schema.columns if c.kind == CATEGORICAL}) & present
    quality = check_quality(frame, categorical=sorted(forced) or None, columns=columns,
                            **quality_kwargs)
    said = {(i.column, i.check) for i in issues}
    for issue in quality.issues:
        if (issue.column, _SAID_BY_SCHEMA.get(issue.check)) not in said:
            issues.append(issue)
    if rules:
        issues.extend(rule_issues(read(frame, "frame", columns), list(rules)))
    return ValidationResult(issues=issues, score=quality.score)
