"""The columnar search index against an exhaustive scan, and what it does with damage."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pytest
from conftest import python_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import modelops
from modelops import query
from modelops.backends.layout import search_index, tracking
from modelops.client import open_store
from modelops.entities import MetricSeries, RunStatus, ViewType
from modelops.errors import StoreWarning
from modelops.uri import parse_uri

METRICS = ("m0", "m1")
PARAMS = ("p0", "p1")
TAGS = ("t0",)
NUMBERS = (0.0, -0.0, 1.0, 2.5, -3.0, math.nan, math.inf, -math.inf, 1e300, 2.0**53 + 1)
STRINGS = ("a", "b", "ab", "A", "", "a%b", "é")
PATTERNS = ("a%", "%b", "_", "A%", "%", "a\\%b", "%é")
TIMES = (0, 1, 5, 2**53 + 1, 2**63 - 1, -(2**63))

numbers = st.sampled_from(NUMBERS)
strings = st.sampled_from(STRINGS)


@st.composite
def clauses(draw):
    kind = draw(st.sampled_from(query.KINDS))
    if kind == "metrics":
        return query.Comparison("metrics", draw(st.sampled_from(METRICS)),
                                draw(st.sampled_from(("=", "!=", "<", "<=", ">", ">="))),
                                draw(numbers))
    key = draw(st.sampled_from({"params": PARAMS, "tags": TAGS,
                                "attributes": query.ATTRIBUTES}[kind]))
    if kind == "attributes" and key in ("start_time", "end_time"):
        value = draw(st.one_of(numbers, st.sampled_from(TIMES).map(float),
                               st.sampled_from((0.5, 4.5, -0.5, 2.0**63, -(2.0**63)))))
        return query.Comparison(kind, key, draw(st.sampled_from(query._NUMERIC_OPS)), value)
    op = draw(st.sampled_from(query._STRING_OPS))
    if op in ("IN", "NOT IN"):
        value = tuple(draw(st.lists(strings, min_size=1, max_size=3)))
    elif op in ("LIKE", "ILIKE"):
        value = draw(st.one_of(st.sampled_from(PATTERNS), strings))
    else:
        value = draw(st.one_of(strings, st.sampled_from(("FINISHED", "RUNNING", "active",
                                                         "deleted"))))
    return query.Comparison(kind, key, op, value)


@st.composite
def order_bys(draw):
    out = []
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(query.KINDS))
        key = draw(st.sampled_from({"metrics": METRICS, "params": PARAMS, "tags": TAGS,
                                    "attributes": query.ATTRIBUTES}[kind]))
        out.append(query.OrderBy(kind, key, draw(st.booleans())))
    return tuple(out)


@st.composite
def runs(draw):
    """What one run gets: its creation and the writes that follow."""
    return {
        "name": draw(strings.filter(bool)),
        "start": draw(st.sampled_from(TIMES)),
        "user": draw(strings),
        "tags": draw(st.dictionaries(st.sampled_from(TAGS), strings, max_size=1)),
        "params": draw(st.dictionaries(st.sampled_from(PARAMS), strings, max_size=2)),
        "metrics": draw(st.dictionaries(st.sampled_from(METRICS),
                                        st.lists(st.tuples(st.integers(0, 3), numbers),
                                                 min_size=1, max_size=3), max_size=2)),
        "end": draw(st.sampled_from((None, None, 0, 7, 2**63 - 1))),
        "status": draw(st.sampled_from((None, "FINISHED", "FAILED", "KILLED"))),
        "deleted": draw(st.booleans()),
    }


def write(store, experiment_id, spec, parent=None):
    run = store.create_run(experiment_id, run_name=spec["name"], start_time=spec["start"],
                           tags=spec["tags"], user=spec["user"], parent_run_id=parent)
    run_id = run.info.run_id
    series = [MetricSeries(key, [s for s, _ in points], [v for _, v in points],
                           [1000 + i for i in range(len(points))])
              for key, points in spec["metrics"].items()]
    if series or spec["params"]:
        store.log_batch(run_id, series, params=spec["params"])
    if spec["status"] is not None or spec["end"] is not None:
        store.update_run(run_id, status=spec["status"], end_time=spec["end"])
    if spec["deleted"]:
        store.set_run_lifecycle(run_id, True)
    return run_id


def scan(store, experiment_ids, run_ids, flt, order, view):
    """What a search must give: every run read back alone, filtered and sorted in Python."""
    every = [store.get_run(r) for r in run_ids]
    every = [r for r in every if r.info.experiment_id in experiment_ids
             and view.admits(r.info.lifecycle_stage)]
    return query.search(every, flt, order, query.MAX_RESULTS, None).items


def searched(store, experiment_ids, flt, order, view, page):
    out, token = [], None
    while True:
        got = store.search_runs(experiment_ids, flt, order, max_results=page,
                                page_token=token, view=view)
        out += list(got.items)
        token = got.token
        if token is None:
            return out


def same(a, b):
    def key(r):
        return (r.info.run_id, r.info.status, r.info.lifecycle_stage, r.info.start_time,
                r.info.end_time, r.info.run_name, r.info.user, r.info.parent_run_id,
                r.data.params, r.data.tags,
                {k: (repr(m.value), m.step, m.timestamp) for k, m in r.data.latest.items()})
    return [key(r) for r in a] == [key(r) for r in b]


def open_local(root, appends):
    store = open_store("tracking", parse_uri(f"file://{root}"))
    if not appends:
        store.storage.appends = False  # as on S3 and in memory: change token and signatures
    return store


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(first=st.lists(runs(), max_size=7), later=st.lists(runs(), max_size=4),
       changes=st.lists(st.tuples(st.integers(0, 10), st.sampled_from(
           ("metric", "tag", "delete", "restore", "purge", "end"))), max_size=5),
       queries=st.lists(st.tuples(st.lists(clauses(), max_size=3), order_bys(),
                                  st.sampled_from(tuple(ViewType)), st.integers(1, 4)),
                        min_size=1, max_size=4),
       threshold=st.sampled_from((1, 3, 1000)), appends=st.booleans(), plain=st.booleans())
def test_search_equals_an_exhaustive_scan(first, later, changes, queries, threshold,
                                          appends, plain):
    """The columnar search, and (``plain``) the search of small experiments from their
    summary logs that a process without numpy makes, give what a scan gives."""
    root = tempfile.mkdtemp(prefix="modelops-search-index-")
    saved = tracking._INDEX_REWRITE_THRESHOLD, tracking._INDEX_REWRITE_SHARE, \
        tracking._numpy_loaded
    tracking._INDEX_REWRITE_THRESHOLD, tracking._INDEX_REWRITE_SHARE = threshold, 0.0
    if plain:
        tracking._numpy_loaded = lambda: False
    try:
        store = open_local(root, appends)
        exp = store.create_experiment("e").experiment_id
        other = store.create_experiment("o").experiment_id
        ids = [write(store, exp, spec) for spec in first]
        ids.append(write(store, other, {**runs_example(), "name": "elsewhere"}))
        experiments = [exp, other]

        def check(reader):
            for clause_list, order, view, page in queries:
                flt = query.Filter(clause_list) if clause_list else None
                want = scan(store, experiments, ids, flt, order, view)
                got = searched(reader, experiments, flt, order, view, page)
                assert same(got, want), (str(flt), order, view)

        with warnings.catch_warnings():
            warnings.simplefilter("error", StoreWarning)
            check(store)                      # this process's index, built now
            check(open_local(root, appends))  # a cold reader: the stored index or the log
            warm = open_local(root, appends)
            check(warm)
            for spec in later:
                ids.append(write(store, exp, spec, parent=ids[0] if ids else None))
            for i, what in changes:
                if not ids:
                    break
                run_id = ids[i % len(ids)]
                if what in ("metric", "tag", "end") and \
                        store.get_run(run_id).info.lifecycle_stage == "deleted":
                    continue  # a deleted run is not written to
                if what == "metric":
                    store.log_batch(run_id, [MetricSeries("m1", [9], [float(i)], [5])])
                elif what == "tag":
                    store.log_batch(run_id, tags={"t0": STRINGS[i % len(STRINGS)]})
                elif what in ("delete", "restore"):
                    store.set_run_lifecycle(run_id, what == "delete")
                elif what == "end":
                    store.update_run(run_id, status="FINISHED", end_time=i)
                else:
                    store.purge_run(run_id)
                    ids.remove(run_id)
            check(warm)                       # an index brought up to date
            check(open_local(root, appends))  # a cold one after the changes
    finally:
        tracking._INDEX_REWRITE_THRESHOLD, tracking._INDEX_REWRITE_SHARE, \
            tracking._numpy_loaded = saved
        shutil.rmtree(root, ignore_errors=True)


def runs_example():
    return {"name": "x", "start": 3, "user": "u", "tags": {"t0": "a"}, "params": {"p0": "b"},
            "metrics": {"m0": [(0, 1.5)]}, "end": None, "status": None, "deleted": False}


# -- the stored index -----------------------------------------------------------------------


@pytest.fixture
def searched_store(tmp_path):
    ops = modelops.connect(tmp_path / "store")
    for i in range(40):
        with ops.tracking.start_run(experiment="e", name=f"r{i}") as run:
            run.log_metric("m", i)
            run.log_param("p", str(i % 3))
    assert len(modelops.connect(tmp_path / "store").tracking.search_runs("e")) == 40
    [index] = list((tmp_path / "store" / "experiments").glob("*/search-index"))
    return tmp_path / "store", index


def _search(root):
    ops = modelops.connect(root)
    return [r.name for r in ops.tracking.search_runs("e", filter="params.p = '1'",
                                                     order_by=["metrics.m DESC"])]


EXPECTED = [f"r{i}" for i in range(39, -1, -1) if i % 3 == 1]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped", "header", "empty"])
def test_a_damaged_index_is_ignored_with_a_warning_and_rebuilt(searched_store, damage):
    root, index = searched_store
    data = index.read_bytes()
    if damage == "garbage":
        data = b"not an index at all"
    elif damage == "truncated":
        data = data[: len(data) * 2 // 3]
    elif damage == "flipped":  # a bit of every run's stored summary
        table = search_index.Table.of_bytes(data)
        flipped = bytearray(data)
        for offset in table._checked_offsets()[:-1]:
            flipped[table._base + table.header["summaries"][0] + int(offset) + 30] ^= 0x01
        data = bytes(flipped)
    elif damage == "header":
        data = data.replace(b'"n":40', b'"n":41', 1)
    else:
        data = b""
    index.write_bytes(data)
    with pytest.warns(StoreWarning, match="search-index"):
        assert _search(root) == EXPECTED
    # Rebuilt and stored again: the next cold search reads it without a warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", StoreWarning)
        assert _search(root) == EXPECTED
    assert index.read_bytes()[:6] == search_index.MAGIC


def test_a_damaged_column_found_mid_search_rebuilds_the_table(searched_store):
    root, index = searched_store
    data = bytearray(index.read_bytes())
    table = search_index.Table.of_bytes(bytes(data))
    offset, length, _ = table.header["metrics"]["m"]["values"]
    at = table._base + offset + length // 2
    data[at] ^= 0xFF
    index.write_bytes(bytes(data))
    with pytest.warns(StoreWarning, match="search-index"):
        assert _search(root) == EXPECTED


@pytest.mark.parametrize("plain", [False, True], ids=["columnar", "from the log"])
def test_a_damaged_log_line_is_skipped_with_a_warning(searched_store, plain, monkeypatch):
    if plain:
        monkeypatch.setattr(tracking, "_numpy_loaded", lambda: False)
    root, index = searched_store
    index.unlink()
    [log] = list(root.glob("experiments/*/summaries.log"))
    lines = log.read_bytes().split(b"\n")
    # The last line of r38 (p = '2') becomes garbage: r38's earlier lines stand for it.
    last = max(i for i, line in enumerate(lines) if b'"run_name":"r37"' in line)
    lines[last] = b'{"run_id": 5}'
    log.write_bytes(b"\n".join(lines))
    with pytest.warns(StoreWarning, match="summaries.log"):
        assert _search(root) == EXPECTED


@pytest.mark.parametrize("plain", [False, True], ids=["columnar", "from the log"])
def test_an_experiment_older_than_its_log_is_read_once_then_followed(searched_store, plain,
                                                                      monkeypatch):
    if plain:    # a log begun after its experiment: the columnar search answers
        monkeypatch.setattr(tracking, "_numpy_loaded", lambda: False)
    root, index = searched_store
    index.unlink()
    [log] = list(root.glob("experiments/*/summaries.log"))
    log.unlink()  # as a store written before the log was
    assert _search(root) == EXPECTED
    ops = modelops.connect(root)
    with ops.tracking.start_run(experiment="e", name="late") as run:
        run.log_metric("m", 100.0)
        run.log_param("p", "1")
    assert _search(root) == ["late", *EXPECTED]


def test_a_read_only_index_does_not_fail_a_search(searched_store, monkeypatch):
    root, index = searched_store
    index.unlink()
    real = modelops.backends.layout.local.LocalStorage.replace

    def refuse(self, rel, data):
        if rel.endswith("search-index"):
            raise modelops.errors.StoreError(f"writing {rel} failed: read-only file system")
        return real(self, rel, data)

    monkeypatch.setattr(modelops.backends.layout.local.LocalStorage, "replace", refuse)
    assert _search(root) == EXPECTED
    assert not index.exists()


WRITER = """
import sys, modelops
ops = modelops.connect(sys.argv[1])
for i in range(15):
    with ops.tracking.start_run(experiment="e", name=f"{sys.argv[2]}-{i}") as run:
        run.log_metric("m", i)
        run.log_param("p", "1")
"""


def test_concurrent_writers_lose_no_run_in_the_log(tmp_path):
    import subprocess
    import sys

    root = tmp_path / "store"
    ops = modelops.connect(root)
    ops.tracking.get_or_create_experiment("e")
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(root), f"w{k}"])
             for k in range(4)]
    # A reader searching while they write: what it stores is brought up to date later.
    while any(p.poll() is None for p in procs):
        modelops.connect(root).tracking.search_runs("e")
    assert [p.returncode for p in procs] == [0, 0, 0, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", StoreWarning)
        names = sorted(r.name for r in modelops.connect(root).tracking.search_runs(
            "e", filter="params.p = '1' AND metrics.m >= 0"))
    assert names == sorted(f"w{k}-{i}" for k in range(4) for i in range(15))


def test_the_table_answers_like_python_for_big_integers():
    # start_time beyond 2**53: compared as integers, not as rounded floats.
    t = np.array([2**53, 2**53 + 1, 2**63 - 1, -(2**63)], dtype="<i8")
    for op in ("=", "!=", "<", "<=", ">", ">="):
        for value in (2.0**53, 2.0**53 + 2, 2.0**63, -(2.0**63), 0.5, math.nan, math.inf):
            want = [query.COMPARE[op](int(x), value) for x in t]
            assert search_index._numeric_mask(t, op, value).tolist() == want, (op, value)


def test_the_tables_status_codes_follow_the_run_statuses():
    assert tuple(s.value for s in RunStatus) == search_index._STATUSES


def test_an_index_replaced_between_two_reads_is_read_again_without_a_warning(
        searched_store, monkeypatch):
    from modelops.backends.layout.local import LocalStorage

    root, index = searched_store
    old = index.read_bytes()
    monkeypatch.setattr(tracking, "_INDEX_REWRITE_THRESHOLD", 1)
    with modelops.connect(root).tracking.start_run(experiment="e", name="late") as run:
        run.log_param("p", "1")
        run.log_metric("m", 100.0)
    modelops.connect(root).tracking.search_runs("e")  # stores a new index
    new = index.read_bytes()
    assert new != old
    index.write_bytes(old)
    real = LocalStorage.read_range
    reads = []

    def replaced_after_the_header(self, rel, start, end=None):
        data = real(self, rel, start, end)
        if rel.endswith("search-index"):
            reads.append(start)
            if len(reads) == 1:
                index.write_bytes(new)  # another process's new index lands
        return data

    monkeypatch.setattr(LocalStorage, "read_range", replaced_after_the_header)
    loads = []
    real_load = tracking.LayoutTrackingStore._load_index
    monkeypatch.setattr(tracking.LayoutTrackingStore, "_load_index",
                        lambda self, exp: loads.append(exp) or real_load(self, exp))
    with warnings.catch_warnings():
        warnings.simplefilter("error", StoreWarning)
        assert _search(root) == ["late", *EXPECTED]
    assert len(loads) == 2  # the old header's columns did not check out: loaded again


def test_a_log_removed_after_the_index_read_it_is_not_trusted_past_its_end(searched_store):
    root, _ = searched_store
    [log] = list(root.glob("experiments/*/summaries.log"))
    log.unlink()  # the index read it to its end; writers begin a new one
    ops = modelops.connect(root)
    with ops.tracking.start_run(experiment="e", name="late") as run:
        run.log_metric("m", 100.0)
        run.log_param("p", "1")
    assert _search(root) == ["late", *EXPECTED]


SEARCH_WITHOUT_NUMPY = r"""
import json, sys
import modelops
ops = modelops.connect(sys.argv[1])
runs = ops.tracking.search_runs("e", filter="params.p = '1'", order_by=["metrics.m DESC"])
print(json.dumps({"names": [r.name for r in runs], "numpy": "numpy" in sys.modules,
                  "index": __import__("os").path.exists(sys.argv[2])}))
"""


def test_a_process_without_numpy_searches_a_small_experiment_from_its_log(searched_store):
    root, index = searched_store
    index.unlink()       # a first-ever search: no stored index to read
    with modelops.connect(root).tracking.start_run(experiment="e", name="r40") as run:
        run.log_metric("m", 40)
        run.log_param("p", "1")
    out = subprocess.run([sys.executable, "-c", SEARCH_WITHOUT_NUMPY, str(root), str(index)],
                         capture_output=True, text=True, env=python_env(), check=True)
    got = json.loads(out.stdout)
    assert got == {"names": ["r40", *EXPECTED], "numpy": False, "index": False}
    assert _search(root) == ["r40", *EXPECTED]     # the columnar search, numpy loaded here
