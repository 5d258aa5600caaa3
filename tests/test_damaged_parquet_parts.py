"""A Parquet part of predictions that does not read as one — cut short, overwritten, a page
whose checksum does not match — costs its own rows, reported with a warning naming it, in
every engine; never a raw error, never other values. Compaction leaves its day as it is. An
error of the store itself while reading a part is a StoreError."""

import io
import os
import pathlib
import warnings

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

import modelops  # noqa: E402
from modelops import StoreError, StoreWarning  # noqa: E402
from modelops.predictions import columns  # noqa: E402
from modelops.predictions.reader import parquet_part, read_predictions  # noqa: E402

DAY = "2026-11-02"
T0 = 1_793_577_600_000 + 3_600_000     # 01:00 UTC that day
ROWS = 1_000


def _rows(first: int, ts: int) -> columns.Rows:
    rng = np.random.default_rng(first)
    return columns.Rows([f"{i:032x}" for i in range(first, first + ROWS)], ts,
                        {"a": rng.normal(size=ROWS), "b": rng.integers(0, 5, ROWS)},
                        rng.integers(0, 2, ROWS), rng.random(ROWS), 2.5, None, 1)


def _part_bytes(first: int, ts: int) -> bytes:
    return columns.parquet_bytes(columns.table(pa, [_rows(first, ts)], "1.0.0"))


@pytest.fixture
def store(tmp_path):
    """Two Parquet parts of a closed day, as the logger writes them: returns the client,
    the path of the first part, and the ids of the second."""
    ops = modelops.connect(tmp_path / "store")
    written = [ops.predictions.store.write_part("p", "predictions", DAY,
                                                _part_bytes(first, T0 + first),
                                                span=(T0 + first, T0 + first), fmt="parquet")
               for first in (0, ROWS)]
    (path,) = [os.path.join(root, name) for root, _, names in os.walk(tmp_path)
               for name in names if name == written[0].name]
    return ops, path, [f"{i:032x}" for i in range(ROWS, 2 * ROWS)]


def _flip(data: bytes, at: int) -> bytes:
    damaged = bytearray(data)
    damaged[at] ^= 0x5A
    return bytes(damaged)


def _pages(data: bytes) -> tuple[int, int]:
    """Where the column chunks of a Parquet file (its pages) start and end."""
    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    chunks = [meta.row_group(g).column(c) for g in range(meta.num_row_groups)
              for c in range(meta.num_columns)]
    starts = [c.dictionary_page_offset or c.data_page_offset for c in chunks]
    return min(starts), max(s + c.total_compressed_size for s, c in zip(starts, chunks))


DAMAGE = {
    "cut short": lambda data: data[:len(data) // 2],
    "overwritten": lambda data: np.random.default_rng(0).bytes(len(data)),
    "empty": lambda data: b"",
    "a flipped byte in a page": lambda data: _flip(data, sum(_pages(data)) // 2),
}


@pytest.mark.parametrize("engine", ["auto", "arrow", "python"])
@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_part_costs_its_rows_with_a_warning_naming_it(store, damage, engine):
    ops, path, kept = store
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(DAMAGE[damage](data))
    with pytest.warns(StoreWarning, match=os.path.basename(path) + ".*does not read as Parquet"):
        table = read_predictions(ops.predictions.store, "p", engine=engine)
    assert table.ids.tolist() == kept


def test_health_goes_on_without_the_damaged_part(store):
    ops, path, _ = store
    with open(path, "wb") as f:
        f.write(b"PAR1 not a footer PAR1")
    with pytest.warns(StoreWarning, match=os.path.basename(path)):
        health = ops.monitor("p", now=T0 + 3_600_000).health(window="24h", alert=False)
    assert health.n == ROWS


def test_no_flipped_byte_of_a_part_reads_as_other_values():
    """Every page carries its checksum: a flipped byte anywhere in the pages makes the part
    unreadable, or changes nothing that is read (an unused bit of a page header). The footer
    (schema, statistics) has no checksum in Parquet; a flip there may rename a column, but
    never raises anything but the warning."""
    data = _part_bytes(0, T0)
    original = pq.read_table(io.BytesIO(data)).to_pylist()
    start, end = _pages(data)
    outcomes = {"skipped": 0, "unchanged": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StoreWarning)
        for at in range(0, len(data), 3):
            table = parquet_part("p", _Part, _flip(data, at))
            if start <= at < end:
                assert table is None or table.to_pylist() == original, at
            if table is None:
                outcomes["skipped"] += 1
            elif table.to_pylist() == original:
                outcomes["unchanged"] += 1
    assert outcomes["skipped"] > 0.9 * (end - start) / 3


class _Part:
    kind, day, name = "predictions", DAY, "part-test.parquet"


def test_a_part_written_without_checksums_still_reads(store):
    ops, path, kept = store
    table = pq.read_table(path)
    pq.write_table(table, path)          # as another writer, or an older modelops, wrote it
    found = read_predictions(ops.predictions.store, "p")
    assert found.ids.tolist() == [f"{i:032x}" for i in range(ROWS)] + kept


def test_compaction_leaves_a_day_with_a_damaged_part_as_it_is(store):
    ops, path, _ = store
    part = pathlib.Path(path)
    part.write_bytes(part.read_bytes()[:-20])
    before = {p.name: p.read_bytes() for p in part.parent.iterdir()}
    with pytest.warns(StoreWarning, match=part.name):
        assert ops.predictions.compact("p", DAY) == []
    assert {p.name: p.read_bytes() for p in part.parent.iterdir()} == before


class _FailingFile(io.RawIOBase):
    """A store's file of ``data`` whose reads fail: what a disk or a network gone away
    gives."""

    def __init__(self, data):
        self._data = io.BytesIO(data)

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, *args):
        return self._data.seek(*args)

    def tell(self):
        return self._data.tell()

    def readinto(self, buffer):
        raise OSError("the disk went away")


def test_an_error_of_the_store_while_reading_a_part_is_a_store_error_naming_it(store,
                                                                             monkeypatch):
    ops, path, _ = store
    with open(path, "rb") as f:
        data = f.read()
    monkeypatch.setattr(type(ops.predictions.store), "open_part",
                        lambda self, model, part: _FailingFile(data))
    for engine in ("auto", "arrow"):
        with pytest.raises(StoreError, match=os.path.basename(path) + ".*the disk went away"):
            read_predictions(ops.predictions.store, "p", engine=engine)
