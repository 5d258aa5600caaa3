"""Issues and the validation result, plus the plain-data and text-table helpers every report
shares."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from modelops.entities import FrozenDict
from modelops.entities.plain import to_plain
from modelops.errors import InvalidInput

__all__ = ["SEVERITIES", "Issue", "ValidationResult", "text_table"]

SEVERITIES = ("error", "warning", "info")


def _field(inst: Any, attribute: attrs.Attribute[Any]) -> str:
    return f"{type(inst).__name__}.{attribute.name}"


def _deep_freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return FrozenDict({k: _deep_freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_deep_freeze(v) for v in value)
    return to_plain(value)


def _check_text(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"expected a non-empty string, got {value!r}",
                           field=_field(inst, attribute))


def _check_optional_text(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _check_text(inst, attribute, value)


def _check_severity(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in SEVERITIES:
        raise InvalidInput(f"expected one of {', '.join(SEVERITIES)}, got {value!r}",
                           field=_field(inst, attribute))


def _check_count(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value < 0):
        raise InvalidInput(f"expected None or an integer >= 0, got {value!r}",
                           field=_field(inst, attribute))


def _to_count(value: Any) -> Any:
    return to_plain(value)


@attrs.frozen(kw_only=True)
class Issue:
    """One finding of a check.

    ``column`` is None for a finding about the whole frame (``duplicate_rows``,
    ``empty_frame``). ``check`` is a short stable code (see the docs for the list);
    ``severity`` is ``error`` (the data should not be used as is), ``warning`` (look at it) or
    ``info``. ``count`` is how many rows (or values) are affected when that makes sense, and
    ``details`` holds the check's numbers (bounds, examples, shares) as read-only plain data.
    """

    column: str | None = attrs.field(default=None, validator=_check_optional_text)
    check: str = attrs.field(validator=_check_text)
    severity: str = attrs.field(validator=_check_severity)
    message: str = attrs.field(validator=_check_text)
    count: int | None = attrs.field(default=None, converter=_to_count, validator=_check_count)
    details: FrozenDict[str, Any] = attrs.field(factory=FrozenDict, converter=_deep_freeze)

    def to_dict(self) -> dict[str, Any]:
        """The issue as plain data (lists, dicts, Python numbers)."""
        return {"column": self.column, "check": self.check, "severity": self.severity,
                "message": self.message, "count": self.count, "details": to_plain(self.details)}

    def to_row(self) -> dict[str, Any]:
        """The issue as one flat table row (no details)."""
        return {"severity": self.severity, "column": self.column, "check": self.check,
                "count": self.count, "message": self.message}


def _to_issues(value: Iterable[Any]) -> tuple[Issue, ...]:
    issues = tuple(value)
    for i, issue in enumerate(issues):
        if not isinstance(issue, Issue):
            raise InvalidInput(f"expected an Issue, got {type(issue).__name__}",
                               field=f"issues[{i}]")
    return issues


class HasIssues:
    """``errors``, ``warnings``, ``infos`` and ``passed`` for anything with ``issues``."""

    __slots__ = ()
    issues: tuple[Issue, ...]

    @property
    def errors(self) -> tuple[Issue, ...]:
        """Issues of severity ``error``."""
        return tuple(i for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> tuple[Issue, ...]:
        """Issues of severity ``warning``."""
        return tuple(i for i in self.issues if i.severity == "warning")

    @property
    def infos(self) -> tuple[Issue, ...]:
        """Issues of severity ``info``."""
        return tuple(i for i in self.issues if i.severity == "info")

    @property
    def passed(self) -> bool:
        """True when no issue has severity ``error`` (warnings do not fail)."""
        return not any(i.severity == "error" for i in self.issues)

    def _verdict(self) -> str:
        e, w, i = len(self.errors), len(self.warnings), len(self.infos)
        head = "passed" if self.passed else "FAILED"
        return (f"{head}: {e} error{'s' * (e != 1)}, {w} warning{'s' * (w != 1)}, "
                f"{i} info")

    def _issue_text(self) -> str:
        if not self.issues:
            return "no issues"
        rows = [issue.to_row() for issue in self.issues]
        return text_table(rows, ["severity", "column", "check", "count", "message"])


@attrs.frozen(kw_only=True)
class ValidationResult(HasIssues):
    """What :meth:`Schema.validate` and :func:`validate` found.

    ``passed`` is True when no issue is an error. ``score`` is the quality score of the
    frame when quality checks ran (:func:`validate`), else None. ``to_table()`` gives one row
    per issue; ``str()`` renders that table as text.
    """

    issues: tuple[Issue, ...] = attrs.field(default=(), converter=_to_issues)
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """``passed``, issue counts by severity, ``score`` and every issue as plain data."""
        return {"passed": self.passed, "errors": len(self.errors),
                "warnings": len(self.warnings), "infos": len(self.infos),
                "score": self.score, "issues": [i.to_dict() for i in self.issues]}

    def to_table(self) -> list[dict[str, Any]]:
        """One row per issue: severity, column, check, count, message."""
        return [i.to_row() for i in self.issues]

    def __str__(self) -> str:
        head = self._verdict()
        if self.score is not None:
            head += f"; quality score {self.score:.1f}/100"
        return f"{head}\n{self._issue_text()}"


# ---------------------------------------------------------------------------------------------
# text tables


def fmt(value: Any) -> str:
    """A cell of a text table."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}"
    return str(value)


def text_table(rows: Sequence[Mapping[str, Any]], headers: Sequence[str]) -> str:
    """Rows as a plain-text table with a header line, columns left-aligned."""
    cells = [[fmt(row.get(h)) for h in headers] for row in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)
