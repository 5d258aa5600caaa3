"""Reading predictions at ten times the size: what ``--scale`` of ``bench_predictions.py``
(24 h health) and ``bench_prediction_memory.py`` (7-day windows) share.

Each store is generated with the logger (untimed; the records of ``bench_predictions.py``,
timestamps uniform over the window, half with feedback), then every figure is taken in a
fresh Python process, which reports the time of the work and its peak resident set
(``VmHWM``): modelops' health (``ops.monitor(model, now=end).health(window)``) or read, and,
in the same run over the same files, DuckDB's count and mean probability per version over the
window (``read_json`` of the parts with ``hive_partitioning``), the anchor.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

from scaling import print_curve

MODEL = "fraud"
HOUR_MS = 3_600_000

WORKER = r"""
import json, sys, time
what, store, model, since, until = sys.argv[1:4] + [int(v) for v in sys.argv[4:6]]
window = f"{(until - since) // 3_600_000}h"
out = {}
if what == "duckdb":
    import duckdb
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.execute("SET enable_progress_bar = false")  # it writes to stdout
    import datetime as dt
    day = lambda ms: dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).date().isoformat()
    # The date filter lets DuckDB skip the days outside the window by their folder.
    query = (f"SELECT version, count(*) AS n, avg(probability) AS mean FROM read_json("
             f"'{store}/predictions/{model}/date=*/*.jsonl', format='newline_delimited', "
             f"hive_partitioning=true) WHERE ts >= {since} AND ts < {until} "
             f"AND date >= '{day(since)}' AND date <= '{day(until - 1)}' "
             "GROUP BY version ORDER BY version")
    t0 = time.perf_counter()
    rows = con.execute(query).fetchall()
    out["rows"] = sum(r[1] for r in rows)
    out["result"] = [list(r) for r in rows]
else:
    import modelops
    import pyarrow, pyarrow.json, pyarrow.compute, pyarrow.parquet  # what a read loads anyway
    ops = modelops.connect(store)
    ops.predictions.models()
    t0 = time.perf_counter()
    if what == "health":
        health = ops.monitor(model, now=until).health(window=window, alert=False)
        out["status"] = health.status
        out["rows"] = health.n
        out["issues"] = [f"{i.severity} {i.kind}" for i in health.issues]
    else:
        out["rows"] = len(ops.predictions.read(model, since=since, until=until))
out["seconds"] = time.perf_counter() - t0
with open("/proc/self/status") as f:
    out["peak_mb"] = next(int(line.split()[1]) for line in f
                          if line.startswith("VmHWM:")) / 1024
print("RESULT " + json.dumps(out))
"""


def measure(what: str, store: str, since: int, until: int, repeats: int) -> dict[str, Any]:
    """``what`` ("health", "read" or "duckdb") in ``repeats`` fresh processes: the median
    time and the largest peak RSS."""
    runs = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-c", WORKER, what, store, MODEL, str(since),
                               str(until)], capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"{what} failed:\n{done.stderr[-3000:]}")
        # The result's line: libraries may print lines of their own.
        line = [x for x in done.stdout.splitlines() if "RESULT " in x][-1]
        runs.append(json.loads(line.split("RESULT ", 1)[1]))
    times = sorted(r["seconds"] for r in runs)
    return dict(runs[0], seconds=times[len(times) // 2],
                peak_mb=max(r["peak_mb"] for r in runs), runs=runs)


def generate(n: int, hours: int, end: int, work: str) -> str:
    """A store of ``n`` predictions over the ``hours`` before ``end``, monitored as
    ``bench_predictions.py``'s (a production version with metrics, a reference profile)."""
    from bench_predictions import generate_day, make_pool, setup_monitoring

    import modelops

    store = os.path.join(work, f"store-{n}-{hours}h")
    marker = os.path.join(store, "ready.json")
    if os.path.exists(marker):
        with open(marker) as f:
            if json.load(f).get("end") == end:
                return store
    shutil.rmtree(store, ignore_errors=True)
    pool = make_pool(4096)
    ops = modelops.connect(store)
    t0 = time.perf_counter()
    generate_day(ops, MODEL, n, end - hours * HOUR_MS, end, end - 1, 7, pool)
    setup_monitoring(ops, MODEL, pool)
    ops.close()
    with open(marker, "w") as f:
        json.dump({"end": end, "generate_s": time.perf_counter() - t0}, f)
    return store


def folder_mb(path: str) -> float:
    total = 0
    for dirpath, _, names in os.walk(path):
        total += sum(os.path.getsize(os.path.join(dirpath, n)) for n in names)
    return total / 1e6


def curve(what: str, sizes: list[int], hours: int, repeats: int, keep: bool,
          anchor: bool = True, history: int = 1, end_hour: int = 1) -> dict[str, Any]:
    """``what`` over windows of ``hours`` holding about each of ``sizes`` predictions,
    DuckDB's count+mean beside it; prints the table and the growth exponents. The store
    holds ``history`` times the window at the same rate, the window being its newest part
    (a model logging for days: a window is then a fraction of the stored days)."""
    work = os.path.join(tempfile.gettempdir(), "modelops-bench-prediction-scale")
    # The window ends at end_hour:00 UTC today (a fixed time: a store kept with --keep is
    # reused all day); at noon a 24 h window crosses a day boundary half-way, as most do.
    end = int(time.time() * 1000) // (24 * HOUR_MS) * (24 * HOUR_MS) + end_hour * HOUR_MS
    since = end - hours * HOUR_MS
    points = []
    try:
        for n in sizes:
            print(f"      {n:,} predictions over {hours} h: generating ...", flush=True)
            store = generate(n * history, hours * history, end, work)
            mine = measure(what, store, since, end, repeats)
            duck = measure("duckdb", store, since, end, repeats) if anchor else None
            point = {"n": n, "parts_mb": folder_mb(os.path.join(store, "predictions")),
                     "modelops": mine, "duckdb": duck}
            points.append(point)
            if duck is not None and duck["rows"] != mine["rows"]:
                raise RuntimeError(f"DuckDB counted {duck['rows']:,} rows, modelops "
                                   f"{mine['rows']:,}")
            if not keep:
                shutil.rmtree(store, ignore_errors=True)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    label = {"health": f"{hours} h health", "read": f"{hours} h read"}[what]
    print(f"\n{label}, fresh process each, median of {repeats} (peak RSS: the largest); "
          f"the store holds {history} x the window")
    print(f"{'predictions':>12} {'stored':>8} {'modelops':>10} {'peak RSS':>9} "
          f"{'DuckDB':>9} {'peak RSS':>9} {'ratio':>6}")
    for p in points:
        m, d = p["modelops"], p["duckdb"]
        ratio = f"{m['seconds'] / d['seconds']:.2f}x" if d else "-"
        duck_s = f"{d['seconds']:.2f} s" if d else "-"
        duck_mb = f"{d['peak_mb']:,.0f} MB" if d else "-"
        print(f"{p['modelops']['rows']:>12,} {p['parts_mb']:>6,.0f}MB {m['seconds']:>8.2f} s "
              f"{m['peak_mb']:>6,.0f} MB {duck_s:>9} {duck_mb:>9} {ratio:>6}")
    sizes_ = [p["n"] for p in points]
    exponents = {
        "modelops_time": print_curve(f"{label}: time", "s",
                                     list(zip(sizes_, [p["modelops"]["seconds"]
                                                       for p in points]))),
        "modelops_rss": print_curve(f"{label}: peak RSS", "MB",
                                    list(zip(sizes_, [p["modelops"]["peak_mb"]
                                                      for p in points]))),
    }
    if anchor:
        exponents["duckdb_time"] = print_curve(
            "DuckDB count+mean per version: time", "s",
            list(zip(sizes_, [p["duckdb"]["seconds"] for p in points])))
    return {"what": what, "hours": hours, "points": points, "exponents": exponents}
