"""Data rules: declarative checks a person writes about the data, each with a severity.

::

    from modelops.validation import rules as r, check_rules

    result = check_rules(frame, [
        r.between("age", 18, 100),
        r.isin("country", ["DE", "FR", "IT"], severity="warning"),
        r.not_null("income"),
        r.unique("loan_id"),
        r.matches("email", r"[^@]+@[^@]+"),
        r.share_missing_below("phone", 0.2),
        r.row("loan within ten incomes", lambda f: f["loan"] <= 10 * f["income"]),
    ])

Every rule is evaluated on whole columns with numpy (a row rule's function gets the frame as
a mapping of column name to array and returns one boolean per row, True where the row is
fine), and each broken rule is one ``Issue`` of its severity (``error`` by default) whose
``check`` is the rule's name, ``count`` the rows that break it and ``details`` the rule and up
to five examples. ``validate(frame, rules=...)`` adds them to the schema and quality issues,
and ``run_cycle(..., data_rules=...)`` refuses to train on data that breaks an ``error`` rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from modelops.errors import InvalidInput
from modelops.frames import categorical, numeric
from modelops.validation._frame import read
from modelops.validation._issues import SEVERITIES, Issue, ValidationResult

__all__ = ["Rule", "between", "check_rules", "isin", "matches", "not_null", "row",
           "share_missing_below", "unique"]

_EXAMPLES = 5


def _severity(instance: Any, attribute: Any, value: Any) -> None:
    if value not in SEVERITIES:
        raise InvalidInput(f"expected one of {', '.join(SEVERITIES)}, got {value!r}",
                           field="Rule.severity")


@attrs.frozen(kw_only=True)
class Rule:
    """A data rule: ``name`` (the issue's ``check``), the ``column`` it reads (None for a row
    rule), ``severity``, a ``description`` for messages, and ``broken(columns)``, which
    returns a boolean array, True for each row that breaks the rule — or, for a rule about a
    whole column, ``(broken?, numbers)``."""

    name: str
    column: str | None
    severity: str = attrs.field(default="error", validator=_severity)
    description: str
    broken: Callable[[Mapping[str, np.ndarray]], Any] = attrs.field(repr=False)
    whole_column: bool = False


def _missing(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind != "O":
        return np.zeros(len(values), dtype=bool)
    return np.equal(categorical(values), None)


def between(column: str, low: float | None = None, high: float | None = None, *,
            severity: str = "error", name: str | None = None,
            inclusive: bool = True) -> Rule:
    """Every present value of ``column`` within ``[low, high]`` (None: unbounded; with
    ``inclusive=False`` the open interval). Missing values are not judged (see
    :func:`not_null`)."""
    if low is None and high is None:
        raise InvalidInput("between needs low, high or both", field="between")

    def broken(f: Mapping[str, np.ndarray]) -> np.ndarray:
        x = numeric(np.asarray(f[column]), column)
        bad = np.zeros(len(x), dtype=bool)
        with np.errstate(invalid="ignore"):
            if low is not None:
                bad |= (x < low) if inclusive else (x <= low)
            if high is not None:
                bad |= (x > high) if inclusive else (x >= high)
        return bad & ~np.isnan(x)

    what = f"{low if low is not None else '-∞'} to {high if high is not None else '∞'}"
    return Rule(name=name or f"between({column})", column=column, severity=severity,
                description=f"{column} within {what}", broken=broken)


def isin(column: str, allowed: Iterable[Any], *, severity: str = "error",
         name: str | None = None) -> Rule:
    """Every present value of ``column`` one of ``allowed`` (compared as text, so ``1`` and
    ``"1"`` are one value). ``in`` is a Python keyword, hence pandas' name."""
    allowed_text = sorted({str(v) for v in allowed})
    if not allowed_text:
        raise InvalidInput("isin needs at least one allowed value", field="isin")

    def broken(f: Mapping[str, np.ndarray]) -> np.ndarray:
        labels = categorical(np.asarray(f[column]))
        present = ~np.equal(labels, None)
        bad = np.zeros(len(labels), dtype=bool)
        bad[present] = ~np.isin(labels[present].astype(str), allowed_text)
        return bad

    shown = ", ".join(allowed_text[:10]) + (" …" if len(allowed_text) > 10 else "")
    return Rule(name=name or f"isin({column})", column=column, severity=severity,
                description=f"{column} one of {shown}", broken=broken)


def not_null(column: str, *, severity: str = "error", name: str | None = None) -> Rule:
    """No missing value (None, NaN) in ``column``."""
    return Rule(name=name or f"not_null({column})", column=column, severity=severity,
                description=f"{column} never missing",
                broken=lambda f: _missing(np.asarray(f[column])))


def unique(column: str, *, severity: str = "error", name: str | None = None) -> Rule:
    """No present value of ``column`` repeated: every row after the first of a value breaks
    it."""

    def broken(f: Mapping[str, np.ndarray]) -> np.ndarray:
        values = np.asarray(f[column])
        present = ~_missing(values)
        keys = values[present]
        if keys.dtype.kind == "O":
            keys = categorical(keys).astype(str)
        _u, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        repeat = np.arange(len(keys)) != first[inverse.reshape(-1)]
        bad = np.zeros(len(values), dtype=bool)
        bad[present] = repeat
        return bad

    return Rule(name=name or f"unique({column})", column=column, severity=severity,
                description=f"{column} unique", broken=broken)


def matches(column: str, pattern: str, *, severity: str = "error",
            name: str | None = None) -> Rule:
    """Every present value of ``column`` (as text) matches the regular expression
    ``pattern`` as a whole (``re.fullmatch``)."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise InvalidInput(f"not a regular expression: {exc}", field="matches") from None

    def broken(f: Mapping[str, np.ndarray]) -> np.ndarray:
        labels = categorical(np.asarray(f[column]))
        present = ~np.equal(labels, None)
        texts = labels[present].astype(str)
        # one vectorised pass over the distinct values, however many rows repeat them
        distinct, inverse = np.unique(texts, return_inverse=True)
        ok = np.fromiter((compiled.fullmatch(t) is not None for t in distinct.tolist()),
                         dtype=bool, count=len(distinct))
        bad = np.zeros(len(labels), dtype=bool)
        bad[present] = ~ok[inverse.reshape(-1)]
        return bad

    return Rule(name=name or f"matches({column})", column=column, severity=severity,
                description=f"{column} matches {pattern!r}", broken=broken)


def share_missing_below(column: str, share: float, *, severity: str = "error",
                        name: str | None = None) -> Rule:
    """Fewer than ``share`` (0 to 1) of ``column``'s values missing."""
    if isinstance(share, bool) or not isinstance(share, (int, float)) or \
            not 0 <= share <= 1 or math.isnan(share):
        raise InvalidInput(f"expected a share from 0 to 1, got {share!r}",
                           field="share_missing_below")

    def broken(f: Mapping[str, np.ndarray]) -> tuple[bool, dict[str, Any]]:
        missing = _missing(np.asarray(f[column]))
        found = float(missing.mean()) if len(missing) else 0.0
        return found >= share, {"share": found, "limit": share, "missing": int(missing.sum())}

    return Rule(name=name or f"share_missing_below({column})", column=column,
                severity=severity, description=f"{column} missing in under {share:.3g}",
                broken=broken, whole_column=True)


def row(name: str, check: Callable[[Mapping[str, np.ndarray]], Any], *,
        severity: str = "error", columns: Sequence[str] | None = None) -> Rule:
    """A rule about rows: ``check(frame)`` gets the frame as a mapping of column name to
    numpy array and returns one boolean per row, True where the row is fine (compute on
    whole arrays: ``lambda f: f["loan"] <= 10 * f["income"]``). ``columns`` names the
    columns it reads, for the message."""
    if not callable(check):
        raise InvalidInput(f"expected a function of the frame, got {check!r}", field="row")

    def broken(f: Mapping[str, np.ndarray]) -> np.ndarray:
        ok = np.asarray(check(f))
        n = len(next(iter(f.values()))) if f else 0
        if ok.shape != (n,) or ok.dtype != bool:
            raise InvalidInput(f"the rule {name!r} must return one boolean per row ({n}), "
                               f"got {ok.dtype} of shape {ok.shape}", field="rules")
        return ~ok

    return Rule(name=name, column=None, severity=severity,
                description=name + (f" ({', '.join(columns)})" if columns else ""),
                broken=broken)


def _examples(values: np.ndarray) -> list[Any]:
    from modelops.entities.plain import to_plain

    return [to_plain(v) for v in values[:_EXAMPLES].tolist()]


def rule_issues(data: Mapping[str, np.ndarray], rules: Sequence[Rule]) -> list[Issue]:
    """The issues of the rules that ``data`` breaks, in the rules' order."""
    issues = []
    n = len(next(iter(data.values()))) if data else 0
    for i, rule in enumerate(rules):
        if not isinstance(rule, Rule):
            raise InvalidInput(f"expected a Rule (modelops.validation.rules), got "
                               f"{type(rule).__name__}", field=f"rules[{i}]")
        if rule.column is not None and rule.column not in data:
            issues.append(Issue(column=rule.column, check=rule.name, severity=rule.severity,
                                message=f"{rule.description}: the column is missing",
                                details={"rule": rule.description, "missing_column": True}))
            continue
        if rule.whole_column:
            bad, numbers = rule.broken(data)
            if bad:
                issues.append(Issue(column=rule.column, check=rule.name,
                                    severity=rule.severity, count=numbers.get("missing"),
                                    message=f"{rule.description}: broken "
                                            f"({numbers['share']:.3g} missing)",
                                    details={"rule": rule.description, **numbers}))
            continue
        broken = rule.broken(data)
        count = int(broken.sum())
        if count:
            where = np.flatnonzero(broken)
            details: dict[str, Any] = {"rule": rule.description, "share": count / n,
                                       "rows": where[:_EXAMPLES].tolist()}
            if rule.column is not None:
                details["examples"] = _examples(np.asarray(data[rule.column])[where])
            issues.append(Issue(column=rule.column, check=rule.name, severity=rule.severity,
                                count=count,
                                message=f"{rule.description}: {count:,} of {n:,} rows "
                                        "break it", details=details))
    return issues


def check_rules(frame: Any, rules: Sequence[Rule], *,
                columns: Sequence[str] | None = None) -> ValidationResult:
    """Check ``frame`` against the data rules; a ``ValidationResult`` with one issue per
    broken rule (``passed`` unless an ``error`` rule is broken)."""
    if isinstance(rules, Rule):
        rules = [rules]
    return ValidationResult(issues=rule_issues(read(frame, "frame", columns), list(rules)))
