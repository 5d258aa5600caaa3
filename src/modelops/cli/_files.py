"""Reading tables from files for the command line: CSV always, Parquet with pyarrow."""

from __future__ import annotations

import csv
import os

import numpy as np

from modelops.errors import InvalidInput, MissingDependency


def read_table(path: str) -> dict[str, np.ndarray]:
    """A CSV (header row first) or Parquet file as ``{column: array}``. CSV columns whose
    values all parse as numbers (empty: missing) become float arrays; others stay strings,
    with empty cells as missing."""
    if not os.path.isfile(path):
        raise InvalidInput(f"no file {path!r}", field="path")
    if path.endswith((".parquet", ".pq")):
        try:
            import pyarrow as pa
            import pyarrow.parquet
        except ImportError:
            raise MissingDependency("reading Parquet files", "pyarrow") from None
        from modelops.predictions.reader import arrow_parquet

        try:
            with open(path, "rb") as f:
                table = arrow_parquet(f)    # checksums and contents checked as for parts
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise InvalidInput(f"{path!r} does not read as Parquet ({exc})", field="path") \
                from None
        return {name: table.column(name).to_numpy(zero_copy_only=False)
                for name in table.column_names}
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInput(f"{path!r} does not read as CSV in UTF-8 ({exc})",
                           field="path") from None
    if not rows:
        raise InvalidInput(f"{path!r} is empty", field="path")
    header, body = rows[0], rows[1:]
    if len(set(header)) != len(header):
        raise InvalidInput(f"{path!r} repeats a column name in its header", field="path")
    for i, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise InvalidInput(f"line {i} of {path!r} has {len(row)} fields, the header "
                               f"{len(header)}", field="path")
    return {name: _column([row[j] for row in body]) for j, name in enumerate(header)}


def _column(cells: list[str]) -> np.ndarray:
    try:
        return np.array([float(c) if c.strip() else np.nan for c in cells], dtype=np.float64)
    except ValueError:
        return np.array([c if c != "" else None for c in cells], dtype=object)
