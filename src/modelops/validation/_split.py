"""Train/test split checks: leakage by duplicate rows, label distribution, column sets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from modelops.entities import FrozenDict, freeze
from modelops.entities.plain import to_plain
from modelops.errors import InvalidInput
from modelops.validation._frame import Column, check_names, contained_rows, joint_keys, read
from modelops.validation._frame import sort_labels as _sort
from modelops.validation._issues import HasIssues, Issue, _to_issues, text_table
from modelops.validation._quality import target_labels

__all__ = ["MAX_LABEL_TVD", "SplitReport", "check_split"]

MAX_LABEL_TVD = 0.10    # a label distribution shift above this is an issue


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _optional_frozen(value: Any) -> Any:
    return None if value is None else freeze(value)


@attrs.frozen(kw_only=True)
class SplitReport(HasIssues):
    """What :func:`check_split` found.

    ``leaked_rows`` test rows are exact copies of some train row over ``columns_compared``
    (the columns both frames have); ``leaked_share`` is their share of the test rows. With a
    target, ``train_labels`` and ``test_labels`` are the class shares of each side and
    ``label_tvd`` the total variation distance between them (None when a side has no label).

    ``to_dict()`` holds everything; ``to_table()`` gives one row per issue; ``str()`` shows a
    summary, the class shares and the issues.
    """

    train_rows: int
    test_rows: int
    columns_compared: tuple[str, ...] = attrs.field(converter=tuple)
    leaked_rows: int
    leaked_share: float
    target: str | None = None
    train_labels: FrozenDict[str, float] | None = attrs.field(default=None,
                                                               converter=_optional_frozen)
    test_labels: FrozenDict[str, float] | None = attrs.field(default=None,
                                                              converter=_optional_frozen)
    label_tvd: float | None = None
    issues: tuple[Issue, ...] = attrs.field(default=(), converter=_to_issues)

    def to_dict(self) -> dict[str, Any]:
        """The whole report as plain data."""
        out = to_plain(attrs.asdict(self, recurse=False))
        out["issues"] = [i.to_dict() for i in self.issues]
        out["passed"] = self.passed
        return out

    def to_table(self) -> list[dict[str, Any]]:
        """One row per issue: severity, column, check, count, message."""
        return [i.to_row() for i in self.issues]

    def __str__(self) -> str:
        parts = [f"split: {_plural(self.train_rows, 'train row')}, "
                 f"{_plural(self.test_rows, 'test row')}; {self.leaked_rows} of the test rows "
                 f"also in train ({self.leaked_share:.1%}) over "
                 f"{_plural(len(self.columns_compared), 'column')}"]
        if self.train_labels is not None and self.test_labels is not None:
            labels = list(self.train_labels) + [c for c in self.test_labels
                                                if c not in self.train_labels]
            rows = [{"class": c, "train": f"{self.train_labels.get(c, 0.0):.1%}",
                     "test": f"{self.test_labels.get(c, 0.0):.1%}"} for c in labels]
            tvd = "n/a" if self.label_tvd is None else f"{self.label_tvd:.3f}"
            parts += [f"classes of {self.target!r} (total variation distance {tvd}):",
                      text_table(rows, ["class", "train", "test"])]
        parts += [self._verdict(), self._issue_text()]
        return "\n".join(parts)


def _shares(col: Column) -> dict[str, float]:
    labels, _ = target_labels(col)
    counts = Counter(labels)
    total = len(labels)
    return {c: counts[c] / total for c in _sort(counts, col.dtype)}


def check_split(train: Any, test: Any, *, target: str | None = None,
                categorical: Sequence[str] | None = None,
                columns: Sequence[str] | None = None) -> SplitReport:
    """Check a train/test split.

    Issues:

    - ``empty_frame`` (error): train or test has no rows (``details["frame"]`` says which);
    - ``missing_column`` (error): a train column is not in test; ``extra_column`` (warning):
      a test column is not in train; ``no_common_columns`` (error): nothing to compare;
    - ``type_mismatch`` (error): a column holds numbers on one side and labels on the other
      (it is still compared, as text);
    - ``leakage`` (warning, with count and share): test rows that are exact copies of a train
      row over all common columns (the target included; NaN equals NaN, 1 equals 1.0). A
      warning, not an error: with few discrete columns some repeats are unavoidable;
    - with ``target`` (class labels, in both frames): ``label_shift`` (warning) when the total
      variation distance ``0.5 * sum(|p_train - p_test|)`` between the class shares exceeds
      0.1, and ``unseen_labels`` (warning) for test classes train does not have.

    ``columns`` names the columns of 2-D numpy arrays (the same for both); ``categorical``
    lists columns to treat as labels whatever their dtype.
    """
    train_data = read(train, "train", columns)
    test_data = read(test, "test", columns)
    forced = check_names(categorical, {**train_data, **test_data}, "categorical")
    if target is not None:
        for what, data in (("train", train_data), ("test", test_data)):
            if target not in data:
                raise InvalidInput(f"no column {target!r} in the {what} frame", field="target")
    n_train = len(next(iter(train_data.values()))) if train_data else 0
    n_test = len(next(iter(test_data.values()))) if test_data else 0
    common = [c for c in train_data if c in test_data]

    issues: list[Issue] = []
    for what, n in (("train", n_train), ("test", n_test)):
        if n == 0:
            issues.append(Issue(check="empty_frame", severity="error", count=0,
                                message=f"the {what} frame has no rows",
                                details={"frame": what}))
    for name in train_data:
        if name not in test_data:
            issues.append(Issue(column=name, check="missing_column", severity="error",
                                message="the column is in train but not in test"))
    for name in test_data:
        if name not in train_data:
            issues.append(Issue(column=name, check="extra_column", severity="warning",
                                message="the column is in test but not in train"))
    if not common:
        issues.append(Issue(check="no_common_columns", severity="error",
                            message="train and test have no column in common"))

    train_cols = {c: Column(c, train_data[c], forced_categorical=c in forced) for c in common}
    test_cols = {c: Column(c, test_data[c], forced_categorical=c in forced) for c in common}
    train_keys, test_keys = [], []
    for name in common:
        a, b = train_cols[name], test_cols[name]
        if a.kind != b.kind and a.present and b.present:
            issues.append(Issue(column=name, check="type_mismatch", severity="error",
                                message=f"{a.kind} ({a.dtype}) in train, {b.kind} ({b.dtype}) "
                                        f"in test; compared as text",
                                details={"train": a.dtype, "test": b.dtype}))
        ka, kb = joint_keys(a, b)
        train_keys.append(ka)
        test_keys.append(kb)
    leaked = int(contained_rows(test_keys, train_keys, n_test, n_train).sum())
    leaked_share = leaked / n_test if n_test else 0.0
    if leaked:
        issues.append(Issue(check="leakage", severity="warning", count=leaked,
                            message=f"{_plural(leaked, 'test row')} ({leaked_share:.1%}) "
                                    f"also {'appears' if leaked == 1 else 'appear'} in train",
                            details={"share": leaked_share, "columns": list(common)}))

    train_labels = test_labels = tvd = None
    if target is not None:
        train_labels = _shares(train_cols[target])
        test_labels = _shares(test_cols[target])
        if train_labels and test_labels:
            classes = set(train_labels) | set(test_labels)
            tvd = 0.5 * sum(abs(train_labels.get(c, 0.0) - test_labels.get(c, 0.0))
                            for c in classes)
            tvd = float(np.clip(tvd, 0.0, 1.0))
            if tvd > MAX_LABEL_TVD:
                issues.append(Issue(column=target, check="label_shift", severity="warning",
                                    message=f"the class shares differ between train and test "
                                            f"(total variation distance {tvd:.3f} > "
                                            f"{MAX_LABEL_TVD:g})",
                                    details={"tvd": tvd, "train": train_labels,
                                             "test": test_labels}))
            unseen = [c for c in test_labels if c not in train_labels]
            if unseen:
                count = sum(1 for v in target_labels(test_cols[target])[0] if v in set(unseen))
                issues.append(Issue(column=target, check="unseen_labels", severity="warning",
                                    count=count,
                                    message=f"test has {len(unseen)} class"
                                            f"{'es' * (len(unseen) != 1)} train lacks: "
                                            f"{', '.join(map(repr, unseen))}",
                                    details={"labels": unseen}))
    return SplitReport(train_rows=n_train, test_rows=n_test, columns_compared=common,
                       leaked_rows=leaked, leaked_share=leaked_share, target=target,
                       train_labels=train_labels, test_labels=test_labels, label_tvd=tvd,
                       issues=issues)
