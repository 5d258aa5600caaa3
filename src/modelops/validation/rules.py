"""Data rules, declarative checks about the data (see ``modelops.validation._rules``)::

    from modelops.validation import rules as r

    r.between("age", 18, 100), r.isin("country", ["DE", "FR"]), r.not_null("income"),
    r.unique("loan_id"), r.matches("email", r"[^@]+@[^@]+"),
    r.share_missing_below("phone", 0.2), r.row("name", lambda f: f["a"] <= f["b"])
"""

from modelops.validation._rules import (
    Rule,
    between,
    check_rules,
    isin,
    matches,
    not_null,
    row,
    share_missing_below,
    unique,
)

__all__ = ["Rule", "between", "check_rules", "isin", "matches", "not_null", "row",
           "share_missing_below", "unique"]
