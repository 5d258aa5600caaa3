"""Search results as objects and as a table, and side-by-side comparison of runs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from modelops import _html
from modelops.entities import Run
from modelops.errors import InvalidInput, MissingDependency

_TIMES = {"start_time": _html.utc_time, "end_time": _html.utc_time}


def run_row(run: Run) -> dict[str, Any]:
    """One run as a flat row: attributes, then ``params.*``, ``metrics.*``, ``tags.*``."""
    info = run.info
    row: dict[str, Any] = {  # RUN_COLUMNS
        "run_id": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "status": info.status.value,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "user": info.user,
        "parent_run_id": info.parent_run_id,
    }
    row.update({f"params.{k}": v for k, v in sorted(run.data.params.items())})
    row.update({f"metrics.{k}": m.value for k, m in sorted(run.data.latest.items())})
    row.update({f"tags.{k}": v for k, v in sorted(run.data.tags.items())})
    return row


#: The columns every run has, first in a table of runs (an empty table has just these).
RUN_COLUMNS = ("run_id", "run_name", "experiment_id", "status", "start_time", "end_time",
               "user", "parent_run_id")
#: What ``search_runs(output=...)`` returns: a RunList, or a pandas DataFrame.
OUTPUTS = ("runs", "pandas")


def check_output(output: Any) -> str:
    if output not in OUTPUTS:
        raise InvalidInput(f"expected one of {', '.join(map(repr, OUTPUTS))}, got {output!r}",
                           field="output")
    return output


def to_pandas(rows: list[dict[str, Any]], columns: Sequence[str] | None = None) -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise MissingDependency("a table as a DataFrame", "pandas") from None
    return pd.DataFrame(rows, columns=None if rows else columns)


def run_html(run: Run) -> str:
    """One run for a notebook: its attributes, then its params, latest metrics and tags."""
    info = run.info
    parts = [_html.fields([("run", info.run_name), ("id", info.run_id),
                           ("experiment", info.experiment_id), ("status", info.status.value),
                           ("started", info.start_time), ("ended", info.end_time),
                           ("user", info.user), ("parent", info.parent_run_id)],
                          formats={"started": _html.utc_time, "ended": _html.utc_time},
                          caption=f"Run {info.run_name}")]
    for title, values in (("params", run.data.params),
                          ("metrics", {k: m.value for k, m in run.data.latest.items()}),
                          ("tags", run.data.tags)):
        if values:
            parts.append(_html.table([{"key": k, "value": v} for k, v in sorted(values.items())],
                                     caption=title))
    return "".join(parts)


class RunList(list[Run]):
    """Runs from a search, in order, with the token of the next page (None on the last)."""

    def __init__(self, runs: Iterable[Run] = (), token: str | None = None) -> None:
        super().__init__(runs)
        self.token = token

    def to_table(self) -> list[dict[str, Any]]:
        """The runs as rows (dicts), one key per attribute, param, metric and tag."""
        return [run_row(r) for r in self]

    def _repr_html_(self) -> str:
        more = " (more on the next page)" if self.token else ""
        return _html.table(self.to_table(), caption=f"{len(self)} run(s){more}",
                           formats=_TIMES)

    def to_pandas(self) -> Any:
        """The runs as a pandas DataFrame (needs pandas), the next page's token in
        ``frame.attrs["token"]``."""
        frame = to_pandas(self.to_table(), RUN_COLUMNS)
        frame.attrs["token"] = self.token
        return frame


def _same(values: list[Any]) -> bool:
    first = values[0]
    return all(v == first or (v != v and first != first) for v in values[1:])


@attrs.frozen
class RunComparison:
    """Runs side by side: which params differ, and each metric per run.

    ``params`` and ``metrics`` map a key to one value per run, in the order of ``runs``
    (None where a run lacks the key).
    """

    runs: tuple[Run, ...]
    params: dict[str, tuple[str | None, ...]]
    metrics: dict[str, tuple[float | None, ...]]

    @classmethod
    def of(cls, runs: Sequence[Run]) -> RunComparison:
        if not runs:
            raise InvalidInput("needs at least one run", field="runs")
        params = sorted({k for r in runs for k in r.data.params})
        metrics = sorted({k for r in runs for k in r.data.latest})
        return cls(
            tuple(runs),
            {k: tuple(r.data.params.get(k) for r in runs) for k in params},
            {k: tuple(r.data.metrics.get(k) for r in runs) for k in metrics},
        )

    @property
    def params_differing(self) -> dict[str, tuple[str | None, ...]]:
        """Only the params whose values are not the same in every run."""
        return {k: v for k, v in self.params.items() if not _same(list(v))}

    @property
    def params_same(self) -> dict[str, str | None]:
        return {k: v[0] for k, v in self.params.items() if _same(list(v))}

    def best(self, metric: str, mode: str = "max") -> Run:
        """The run with the highest (``mode="max"``) or lowest (``"min"``) value of a metric."""
        if mode not in ("max", "min"):
            raise InvalidInput(f"expected 'max' or 'min', got {mode!r}", field="mode")
        if metric not in self.metrics:
            raise InvalidInput(f"no compared run logged {metric!r}", field="metric")
        scored = [(v, i) for i, v in enumerate(self.metrics[metric])
                  if v is not None and not math.isnan(v)]
        if not scored:
            raise InvalidInput(f"no compared run has a number for {metric!r}", field="metric")
        _, index = max(scored) if mode == "max" else min(scored)
        return self.runs[index]

    def to_table(self) -> list[dict[str, Any]]:
        """One row per run: name and id, the differing params, every metric."""
        rows = []
        for i, run in enumerate(self.runs):
            row: dict[str, Any] = {"run_name": run.info.run_name, "run_id": run.info.run_id}
            row.update({f"params.{k}": v[i] for k, v in self.params_differing.items()})
            row.update({f"metrics.{k}": v[i] for k, v in self.metrics.items()})
            rows.append(row)
        return rows

    def to_pandas(self) -> Any:
        return to_pandas(self.to_table())

    def _repr_html_(self) -> str:
        same = ", ".join(f"{k}={v}" for k, v in self.params_same.items())
        caption = f"{len(self.runs)} run(s) compared" + (f"; the same in all: {same}"
                                                         if same else "")
        return _html.table(self.to_table(), caption=caption)

    def __str__(self) -> str:
        rows = [{k: v for k, v in row.items() if k != "run_id"} for row in self.to_table()]
        columns = list(rows[0])
        cells = [[_fmt(row.get(c)) for c in columns] for row in rows]
        widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
        same = ", ".join(f"{k}={v}" for k, v in self.params_same.items())
        if same:
            lines.append(f"(same in every run: {same})")
        return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 32 else text[:12] + "…"
