"""Prediction-logging benchmarks: ``log()`` on a paced serving thread, and reading a day back.

Two parts, one process, one table::

    figure | modelops | baseline | ratio (baseline ÷ modelops, per call) | target | PASS/FAIL

1. **Logging under sustained load.** A "serving" thread calls
   ``logger.log(features, prediction, probability, latency_ms)`` paced at 50,000 calls/s for
   30 s (``--quick``: 5 s): it sleeps until the next 20 ms slot, then issues 1,000 calls, each
   timed with ``time.perf_counter_ns()`` into a preallocated numpy array. The logger's own
   background writer writes the parts meanwhile, in the same process. Afterwards: the buffer's
   largest ``stats.pending`` (sampled after every slot), ``stats.dropped``, how long the final
   ``flush()`` and ``close()`` take, and ``ops.predictions.read(model)`` returns every record.
   The baseline does the same work the usual hand-written way on the same thread, same
   pacing, same records: ``f.write(json.dumps(record) + "\\n")`` on a file opened once
   (default buffering), flushed at the end. Both sides also get an unpaced throughput figure
   (a tight loop for about a second), for information.
2. **Reading a day back.** One day of 1,000,000 predictions (``--quick``: 100,000), half with
   feedback, is generated with the logger (untimed), then timed: ``ops.predictions.read(model,
   since=now - 24 h)`` and the 24 h health report, ``ops.monitor(model).health(window="24h")``
   when the monitoring API exists, else (labelled so) the read plus scikit-learn accuracy /
   F1 / ROC AUC over the rows with feedback and numpy latency percentiles. A second store holds
   yesterday's (UTC, a closed) day, read before and after ``ops.predictions.compact``; a third
   holds the same closed day written in 12-record parts, the shape 1-second flushes of a
   11.6 predictions/s service leave (informational).

Usage::

    python benchmarks/bench_predictions.py                  # 30 s paced runs, 1,000,000 rows
    python benchmarks/bench_predictions.py --quick          # smoke run: 5 s, 100,000 rows
    python benchmarks/bench_predictions.py --json out.json  # also write every figure as JSON
    python benchmarks/bench_predictions.py --keep           # keep (and reuse) generated stores

The benchmark reports what it measures; it is not tuned to pass. A FAIL is a finding.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

# Targets from the issue.
TARGET_LOG_MEDIAN_S = 10e-6
TARGET_LOG_P99_S = 100e-6
TARGET_RATE = 50_000  # log() calls per second the writer must keep up with
TARGET_READ_HEALTH_S = 5.0
PENDING_BOUND_BATCHES = 2  # "bounded": stats.pending below this many batch_size
TARGET_CLOSE_S = 1.0  # "close() completes quickly"
# --scale: 24 h health over a million predictions.
TARGET_SCALE_HEALTH_S = 1.5
TARGET_SCALE_RATIO = 1.5  # times DuckDB's count+mean per version over the same files
TARGET_SCALE_RSS_MB = 300

SLOT_S = 0.020  # the pacing: every 20 ms slot ...
PER_SLOT = int(TARGET_RATE * SLOT_S)  # ... 1,000 calls
POOL = 4096  # distinct feature records, cycled (generated before any timing)
DAY_MS = 86_400_000
VERSION = "v1"
CACHE_FORMAT = 2

perf = time.perf_counter
ns = time.perf_counter_ns


# -- helpers --------------------------------------------------------------------------------


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e9:.0f} ns"


def fmt_rate(per_s: float | None) -> str:
    return "-" if per_s is None else f"{per_s:,.0f}/s"


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def make_pool(n: int, seed: int = 20) -> dict[str, list[Any]]:
    """Records to log: 20 features (14 floats with 2 decimals, 3 ints, 2 short strings, a
    bool), a "HIGH"/"LOW" prediction, its probability and a latency."""
    rng = random.Random(seed)
    feats, preds, probs, lats = [], [], [], []
    for _ in range(n):
        f: dict[str, Any] = {
            "amount": round(rng.lognormvariate(4, 1), 2),
            "balance": round(rng.uniform(0, 50_000), 2),
            "avg_amount_30d": round(rng.lognormvariate(4, 0.8), 2),
            "max_amount_30d": round(rng.lognormvariate(5, 0.8), 2),
            "ratio_to_avg": round(rng.uniform(0, 10), 2),
            "distance_km": round(rng.expovariate(1 / 30), 2),
            "hour_sin": round(rng.uniform(-1, 1), 2),
            "hour_cos": round(rng.uniform(-1, 1), 2),
            "merchant_risk": round(rng.random(), 2),
            "device_score": round(rng.random(), 2),
            "ip_risk": round(rng.random(), 2),
            "velocity_1h": round(rng.uniform(0, 20), 2),
            "velocity_24h": round(rng.uniform(0, 100), 2),
            "account_age_y": round(rng.uniform(0, 30), 2),
            "n_items": rng.randrange(1, 12),
            "age": rng.randrange(18, 90),
            "txn_count_7d": rng.randrange(0, 200),
            "country": rng.choice(["US", "DE", "FR", "GB", "ES", "IT", "NL", "PL"]),
            "channel": rng.choice(["web", "app", "pos"]),
            "is_new_device": rng.random() < 0.1,
        }
        p = round(rng.random(), 4)
        feats.append(f)
        preds.append("HIGH" if p >= 0.5 else "LOW")
        probs.append(p)
        lats.append(round(rng.gammavariate(2.0, 2.5), 3))
    return {"features": feats, "predictions": preds, "probabilities": probs, "latency_ms": lats}


def percentiles(lat_ns: np.ndarray) -> dict[str, float]:
    q = np.percentile(lat_ns, [50, 90, 99, 99.9])
    return {
        "median_s": q[0] / 1e9,
        "p90_s": q[1] / 1e9,
        "p99_s": q[2] / 1e9,
        "p999_s": q[3] / 1e9,
        "max_s": float(lat_ns.max()) / 1e9,
        "mean_s": float(lat_ns.mean()) / 1e9,
        "calls": len(lat_ns),
        "over_100us": int((lat_ns > 100_000).sum()),
        "over_1ms": int((lat_ns > 1_000_000).sum()),
        "time_in_calls_s": float(lat_ns.sum()) / 1e9,
        "time_in_calls_over_1ms_s": float(lat_ns[lat_ns > 1_000_000].sum()) / 1e9,
    }


def thread_usage() -> tuple[int, int, float] | None:
    """(voluntary, involuntary context switches, CPU s) of the calling thread (Linux)."""
    try:
        import resource

        ru = resource.getrusage(resource.RUSAGE_THREAD)
    except (ImportError, AttributeError, OSError):
        return None
    return ru.ru_nvcsw, ru.ru_nivcsw, ru.ru_utime + ru.ru_stime


def timer_floor(n: int = 200_000) -> float:
    """Median of ``perf_counter_ns() - perf_counter_ns()`` (included in every latency)."""
    out = np.empty(n, dtype=np.int64)
    for k in range(n):
        t0 = ns()
        out[k] = ns() - t0
    return float(np.median(out)) / 1e9


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, list[float], Any]:
    times, value = [], None
    for _ in range(repeats):
        t0 = perf()
        value = fn()
        times.append(perf() - t0)
    return statistics.median(times), times, value


# -- part 1: logging under sustained load -------------------------------------------------


def paced(
    call: Callable[[Any, Any, Any, Any], Any],
    pool: dict[str, list[Any]],
    n_slots: int,
    on_slot: Callable[[int], None],
) -> dict[str, Any]:
    """Call ``call(features, prediction, probability, latency_ms)`` PER_SLOT times at the
    start of every SLOT_S slot, for n_slots slots, on this thread; time every call."""
    feats, preds = pool["features"], pool["predictions"]
    probs, lats = pool["probabilities"], pool["latency_ms"]
    mask = len(feats) - 1
    total = n_slots * PER_SLOT
    lat = np.zeros(total, dtype=np.int64)  # preallocated: no list growth in the loop
    slot_ns = int(SLOT_S * 1e9)
    sleep = time.sleep
    k = late = 0
    load0 = load()
    cpu0 = time.process_time()
    usage0 = thread_usage()
    start = ns() + slot_ns
    for s in range(n_slots):
        due = start + s * slot_ns
        now = ns()
        if now < due:
            sleep((due - now) / 1e9)
        elif now - due > slot_ns:
            late += 1
        for _ in range(PER_SLOT):
            i = k & mask
            f, p, pr, lm = feats[i], preds[i], probs[i], lats[i]
            t0 = ns()
            call(f, p, pr, lm)
            lat[k] = ns() - t0
            k += 1
        on_slot(s)
    end = ns()
    cpu = time.process_time() - cpu0
    usage1 = thread_usage()
    elapsed = (max(end, start + n_slots * slot_ns) - start) / 1e9
    switches: dict[str, Any] = {}
    if usage0 is not None and usage1 is not None:
        switches = {"thread_voluntary_switches": usage1[0] - usage0[0],
                    "thread_involuntary_switches": usage1[1] - usage0[1],
                    "thread_cpu_s": usage1[2] - usage0[2]}
    return {
        **switches,
        "load_start": load0,
        "load_end": load(),
        "lat_ns": lat,
        "calls": total,
        "elapsed_s": elapsed,
        "rate": total / elapsed,
        "late_slots": late,
        "process_cpu_s": cpu,
        "process_cpu_cores": cpu / elapsed,
    }


def unpaced(call: Callable[[Any, Any, Any, Any], Any], pool: dict[str, list[Any]],
            seconds: float) -> tuple[int, float]:
    """Calls per second in a tight loop for about ``seconds`` (after 1,000 warm-up calls)."""
    feats, preds = pool["features"], pool["predictions"]
    probs, lats = pool["probabilities"], pool["latency_ms"]
    mask = len(feats) - 1
    for i in range(1000):
        call(feats[i & mask], preds[i & mask], probs[i & mask], lats[i & mask])
    k = 0
    t0 = perf()
    while True:
        for _ in range(1000):
            i = k & mask
            call(feats[i], preds[i], probs[i], lats[i])
            k += 1
        elapsed = perf() - t0
        if elapsed >= seconds:
            return k, k / elapsed


def in_thread(fn: Callable[[], Any], name: str = "serving") -> Any:
    """Run ``fn`` on a thread of its own (the serving path); return its result."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised on the caller
            box["error"] = exc

    t = threading.Thread(target=target, name=name)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def hand_writer(f: Any) -> Callable[[Any, Any, Any, Any], None]:
    """The usual hand-written logging: one JSON line per prediction, the same fields the
    logger stores (a fresh id, a Unix-ms timestamp, the version, ..., metadata)."""
    write, dumps, uuid4, time_ns = f.write, json.dumps, uuid.uuid4, time.time_ns

    def log(features: Any, prediction: Any, probability: Any, latency_ms: Any) -> None:
        record = {
            "id": uuid4().hex,
            "ts": time_ns() // 1_000_000,
            "version": VERSION,
            "prediction": prediction,
            "probability": probability,
            "latency_ms": latency_ms,
            "features": features,
            "metadata": None,
        }
        write(dumps(record) + "\n")

    return log


def count_lines(path: str) -> int:
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            n += chunk.count(b"\n")
    return n


def bench_logging(ops: Any, tmp: str, pool: dict[str, list[Any]], seconds: int,
                  unpaced_s: float) -> dict[str, Any]:
    n_slots = round(seconds / SLOT_S)
    out: dict[str, Any] = {"seconds": seconds, "slot_s": SLOT_S, "per_slot": PER_SLOT,
                           "target_rate": TARGET_RATE}

    # modelops: the logger with its defaults.
    model = "bench-serving"
    logger = ops.predictions.logger(model, version=VERSION)
    out["logger_options"] = {"flush_every": logger.flush_every, "max_buffer": logger.max_buffer,
                             "batch_size": logger.batch_size, "drop_policy": logger.drop_policy}
    log = logger.log
    for i in range(1000):  # warm-up (starts the writer thread); counted in the totals below
        j = i % POOL
        log(pool["features"][j], pool["predictions"][j], pool["probabilities"][j],
            pool["latency_ms"][j])
    logger.flush()
    pending = np.zeros(n_slots, dtype=np.int64)

    def sample(s: int) -> None:
        pending[s] = logger.stats.pending

    gc.collect()
    run = in_thread(lambda: paced(log, pool, n_slots, sample))
    t0 = perf()
    logger.flush()
    flush_s = perf() - t0
    t0 = perf()
    logger.close()
    close_s = perf() - t0
    stats = logger.stats
    t0 = perf()
    n_read = len(ops.predictions.read(model, with_feedback=False))
    read_s = perf() - t0
    per_sec = round(1 / SLOT_S)
    per_second = [int(pending[i:i + per_sec].max()) for i in range(0, n_slots, per_sec)]
    out["modelops"] = {
        **percentiles(run["lat_ns"]),
        **{k: v for k, v in run.items() if k != "lat_ns"},
        "pending_max": int(pending.max()),
        "pending_max_per_second": per_second,
        "pending_after_run": int(pending[-1]),
        "final_flush_s": flush_s,
        "close_s": close_s,
        "logged": stats.logged,
        "written": stats.written,
        "dropped": stats.dropped,
        "retries": stats.retries,
        "read_back": n_read,
        "read_back_s": read_s,
    }
    del run

    # Baseline: json.dumps + f.write on a file opened once, the same thread and pacing.
    path = os.path.join(tmp, "hand.jsonl")
    f = open(path, "w", encoding="utf-8")  # noqa: SIM115 - open for the whole run, as served
    hand = hand_writer(f)
    for i in range(1000):
        j = i % POOL
        hand(pool["features"][j], pool["predictions"][j], pool["probabilities"][j],
             pool["latency_ms"][j])
    gc.collect()
    run = in_thread(lambda: paced(hand, pool, n_slots, lambda s: None))
    t0 = perf()
    f.flush()
    flush_s = perf() - t0
    f.close()
    lines = count_lines(path)
    out["baseline"] = {
        **percentiles(run["lat_ns"]),
        **{k: v for k, v in run.items() if k != "lat_ns"},
        "final_flush_s": flush_s,
        "lines": lines,
        "bytes": os.path.getsize(path),
    }
    del run
    os.remove(path)

    # Unpaced maximum throughput, for information.
    logger = ops.predictions.logger("bench-unpaced", version=VERSION)
    n, rate = in_thread(lambda: unpaced(logger.log, pool, unpaced_s))
    t0 = perf()
    logger.close()
    close_s = perf() - t0
    st = logger.stats
    out["unpaced_modelops"] = {"calls": n, "rate": rate, "close_s": close_s,
                               "logged": st.logged, "written": st.written,
                               "dropped": st.dropped}
    path = os.path.join(tmp, "hand-unpaced.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        n, rate = in_thread(lambda: unpaced(hand_writer(f), pool, unpaced_s))
    out["unpaced_baseline"] = {"calls": n, "rate": rate, "lines": count_lines(path)}
    os.remove(path)
    return out


# -- part 2: a day of predictions, read back ------------------------------------------------


def generate_day(ops: Any, model: str, n: int, start_ms: int, end_ms: int, fb_until_ms: int,
                 seed: int, pool: dict[str, list[Any]], **logger_options: Any) -> dict[str, Any]:
    """n predictions with timestamps spread uniformly over [start_ms, end_ms), half of them
    with feedback (85 % agreeing with the prediction) 1 min to 1 h later (at most
    fb_until_ms), logged with ops.predictions.logger. Untimed by the benchmark."""
    rng = np.random.default_rng(seed)
    ts = np.sort(rng.integers(start_ms, end_ms, n))
    probs = rng.random(n).round(4)
    preds = np.where(probs >= 0.5, "HIGH", "LOW")
    lat = rng.gamma(2.0, 2.5, n).round(3)
    has_fb = rng.random(n) < 0.5
    correct = rng.random(n) < 0.85
    actual = np.where(correct, preds, np.where(preds == "HIGH", "LOW", "HIGH"))
    fb_ts = np.minimum(ts + rng.integers(60_000, 3_600_000, n), fb_until_ms)
    feats = pool["features"]
    t0 = perf()
    logger = ops.predictions.logger(model, version=VERSION, **logger_options)
    log = logger.log
    ids = []
    for i, (t, p, pr, lm) in enumerate(zip(ts.tolist(), preds.tolist(), probs.tolist(),
                                           lat.tolist())):
        ids.append(log(feats[i % POOL], p, pr, lm, None, t))
    fb = logger.feedback
    for i in np.flatnonzero(has_fb).tolist():
        fb(ids[i], actual[i].item(), int(fb_ts[i]))
    logger.close()
    st = logger.stats
    if st.dropped:
        raise RuntimeError(f"generation dropped {st.dropped} records")
    parts = {k: len(ops.predictions.store.list_parts(model, k)) for k in ("predictions",
                                                                           "feedback")}
    return {"n": n, "with_feedback": int(has_fb.sum()), "start_ms": start_ms, "end_ms": end_ms,
            "generate_s": perf() - t0, "parts": parts, "logger_options": logger_options,
            "_ts": ts, "_has_fb": has_fb}


def setup_monitoring(ops: Any, model: str, pool: dict[str, list[Any]]) -> dict[str, Any]:
    """What a monitored model has: a production version registered with its metrics (the
    health report's degradation baseline) and a reference profile of its inputs (for input
    drift): the 4,096 feature records the logged predictions cycle through."""
    metrics = {"accuracy": 0.85, "f1": 0.85, "roc_auc": 0.85}
    ops.registry.register(model, {"w": [1.0]}, version="1.0.0", flavor="joblib",
                          metrics=metrics)
    ops.registry.promote(model, "1.0.0", stage="production")
    feats = pool["features"]
    frame = {k: np.array([f[k] for f in feats]) for k in feats[0]}
    profile = ops.drift.fit_reference(model, frame)
    return {"registered": "1.0.0 (production)", "metrics": metrics,
            "reference_rows": profile.rows, "reference_columns": len(frame)}


def health_standin(table: Any) -> dict[str, Any]:
    """What a 24 h health report computes, by hand: volume, prediction mix, latency
    percentiles, and accuracy / F1 / ROC AUC over the rows with feedback (scikit-learn)."""
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    mask = table.has_feedback
    preds = table.predictions
    y_true = table.actuals[mask] == "HIGH"
    y_pred = preds[mask] == "HIGH"
    score = table.probabilities[mask]
    lat = table.latency_ms[~np.isnan(table.latency_ms)]
    q = np.percentile(lat, [50, 90, 99]) if len(lat) else [np.nan] * 3
    values, counts = np.unique(preds.astype(str), return_counts=True)
    return {
        "volume": len(table),
        "with_feedback": int(mask.sum()),
        "prediction_mix": dict(zip(values.tolist(), counts.tolist())),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1": float(f1_score(y_true, y_pred)),
        "roc_auc": float(roc_auc_score(y_true, score)),
        "latency_p50_ms": float(q[0]),
        "latency_p90_ms": float(q[1]),
        "latency_p99_ms": float(q[2]),
    }


def describe(report: Any) -> Any:
    """A JSON-able summary of a health report of unknown shape."""
    for attr in ("to_dict", "as_dict"):
        if hasattr(report, attr):
            try:
                return json.loads(json.dumps(getattr(report, attr)(), default=str))
            except Exception:
                pass
    return repr(report)[:2000]


def utc_midnight_ms(now_ms: int) -> int:
    return now_ms - now_ms % DAY_MS


def day_name(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d")


def prepare_stores(modelops: Any, cache: str, n: int, pool: dict[str, list[Any]],
                   reuse: bool) -> dict[str, Any]:
    """The three generated stores, under ``cache``: reused when ``reuse`` and still valid."""
    meta_path = os.path.join(cache, "meta.json")
    meta: dict[str, Any] = {}
    if reuse and os.path.exists(meta_path):
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
        if meta.get("format") != CACHE_FORMAT or meta.get("n") != n:
            meta = {}
    now = time.time_ns() // 1_000_000
    yesterday = utc_midnight_ms(now) - DAY_MS
    out: dict[str, Any] = {"format": CACHE_FORMAT, "n": n}

    def fresh(key: str, ok: bool) -> bool:
        if ok and key in meta and os.path.isdir(os.path.join(cache, key)):
            out[key] = dict(meta[key], reused=True)
            return False
        shutil.rmtree(os.path.join(cache, key), ignore_errors=True)
        return True

    # The last 24 hours, up to now (spans two UTC days). Reused for at most an hour.
    if fresh("day", "day" in meta and now - meta["day"]["end_ms"] < 3_600_000):
        print(f"      generating the last 24 h: {n:,} predictions ...", flush=True)
        ops = modelops.connect(os.path.join(cache, "day"))
        g = generate_day(ops, "bench-day", n, now - DAY_MS, now, now - 1, 1, pool)
        g["monitoring"] = setup_monitoring(ops, "bench-day", pool)
        ops.close()
        np.savez(os.path.join(cache, "day-ts.npz"), ts=g.pop("_ts"), has_fb=g.pop("_has_fb"))
        out["day"] = dict(g, reused=False)
    # Yesterday (UTC): a closed day, compactable; the same records twice, in the logger's
    # default batches and in 12-record parts.
    for key, model, opts in (("closed", "bench-closed", {}),
                             ("small", "bench-small", {"batch_size": 12,
                                                       "drop_policy": "block"})):
        if fresh(key, key in meta and meta[key]["start_ms"] == yesterday):
            print(f"      generating yesterday ({day_name(yesterday)}, {key}): {n:,} "
                  "predictions ...", flush=True)
            ops = modelops.connect(os.path.join(cache, key))
            g = generate_day(ops, model, n, yesterday, yesterday + DAY_MS,
                             yesterday + DAY_MS - 1, 2, pool, **opts)
            if key == "closed":
                g["monitoring"] = setup_monitoring(ops, model, pool)
            ops.close()
            g.pop("_ts")
            g.pop("_has_fb")
            out[key] = dict(g, reused=False)
    with open(meta_path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2)
    return out


def bench_reads(modelops: Any, cache: str, work: str, n: int, pool: dict[str, list[Any]],
                reuse: bool, repeats: int) -> dict[str, Any]:
    t0 = perf()
    gen = prepare_stores(modelops, cache, n, pool, reuse)
    out: dict[str, Any] = {"generated": gen, "prepare_s": perf() - t0, "repeats": repeats}

    # (a) read the last 24 h; (b) the 24 h health report.
    ops = modelops.connect(os.path.join(cache, "day"))
    saved = np.load(os.path.join(cache, "day-ts.npz"))
    model = "bench-day"

    def read_24h() -> Any:
        since = time.time_ns() // 1_000_000 - DAY_MS
        return since, ops.predictions.read(model, since=since)

    ops.predictions.read(model, since=time.time_ns() // 1_000_000 - 3_600_000)  # warm imports
    read_s, read_all, (since, table) = median_time(read_24h, repeats)
    in_window = saved["ts"] >= since
    expected = int(in_window.sum())
    expected_fb = int((in_window & saved["has_fb"]).sum())
    got_fb = int(table.has_feedback.sum())
    out["read_24h"] = {"median_s": read_s, "all_s": read_all, "rows": len(table),
                       "rows_expected": expected, "with_feedback": got_fb,
                       "with_feedback_expected": expected_fb,
                       "complete": len(table) == expected and got_fb == expected_fb}
    del table

    monitor = getattr(ops, "monitor", None)
    health: dict[str, Any] = {}
    if monitor is not None:
        try:
            h_s, h_all, report = median_time(lambda: monitor(model).health(window="24h"),
                                             repeats)
            health = {"what": 'ops.monitor(model).health(window="24h")', "median_s": h_s,
                      "all_s": h_all, "report": describe(report), "monitor_api": True}
        except Exception as exc:  # report it, then fall back to the stand-in
            health = {"monitor_error": f"{type(exc).__name__}: {exc}"}
    if "median_s" not in health:
        def standin() -> Any:
            _, table = read_24h()
            return health_standin(table)

        h_s, h_all, report = median_time(standin, repeats)
        health.update({"what": "read + sklearn metrics (monitor API not available)",
                       "median_s": h_s, "all_s": h_all, "report": report,
                       "monitor_api": False})
    out["health_24h"] = health
    ops.close()

    # A closed day (yesterday, UTC), before and after compaction. Compaction rewrites the
    # store, so it runs on a copy when the generated stores are kept for reuse.
    src = os.path.join(cache, "closed")
    root = src
    if reuse:
        root = os.path.join(work, "closed")
        shutil.copytree(src, root)
    ops = modelops.connect(root)
    model = "bench-closed"
    day0 = gen["closed"]["start_ms"]

    def read_day() -> Any:
        return ops.predictions.read(model, since=day0, until=day0 + DAY_MS)

    def health_day() -> Any:  # the day's health: a monitor whose "now" is the day's end
        return ops.monitor(model, now=day0 + DAY_MS).health(window="24h")

    monitor_api = hasattr(ops, "monitor")
    before_s, before_all, table = median_time(read_day, repeats)
    before = (len(table), int(table.has_feedback.sum()), float(np.nansum(table.probabilities)))
    del table
    hb = median_time(health_day, repeats) if monitor_api else None
    t0 = perf()
    compacted = ops.predictions.compact(model, day_name(day0))
    compact_s = perf() - t0
    after_s, after_all, table = median_time(read_day, repeats)
    after = (len(table), int(table.has_feedback.sum()), float(np.nansum(table.probabilities)))
    del table
    ha = median_time(health_day, repeats) if monitor_api else None
    store = ops.predictions.store
    out["closed_day"] = {
        "day": day_name(day0), "rows_expected": gen["closed"]["n"],
        "with_feedback_expected": gen["closed"]["with_feedback"],
        "parts_before": gen["closed"]["parts"],
        "read_before_s": before_s, "read_before_all_s": before_all,
        "rows_before": before[0], "with_feedback_before": before[1],
        "compact_s": compact_s, "compacted_parts": compacted,
        "parts_after": {k: [p.fmt for p in store.list_parts(model, k)]
                        for k in ("predictions", "feedback")},
        "read_after_s": after_s, "read_after_all_s": after_all,
        "rows_after": after[0], "with_feedback_after": after[1],
        "health_before_s": hb[0] if hb else None, "health_before_all_s": hb[1] if hb else None,
        "health_after_s": ha[0] if ha else None, "health_after_all_s": ha[1] if ha else None,
        "health_after_report": describe(ha[2]) if ha else None,
        "same_before_after": before[0] == after[0] and before[1] == after[1]
        and abs(before[2] - after[2]) < 1e-6 * max(1.0, abs(before[2])),
        "complete": before[0] == gen["closed"]["n"]
        and before[1] == gen["closed"]["with_feedback"],
    }
    ops.close()

    # The same closed day in 12-record parts (informational).
    ops = modelops.connect(os.path.join(cache, "small"))
    small_s, small_all, table = median_time(
        lambda: ops.predictions.read("bench-small", since=day0, until=day0 + DAY_MS), repeats)
    out["small_parts"] = {
        "read_s": small_s, "read_all_s": small_all, "rows": len(table),
        "with_feedback": int(table.has_feedback.sum()), "parts": gen["small"]["parts"],
        "complete": len(table) == gen["small"]["n"]
        and int(table.has_feedback.sum()) == gen["small"]["with_feedback"],
    }
    del table
    ops.close()
    return out


# -- report ---------------------------------------------------------------------------------


def rows_of(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def row(figure: str, mo: str, base: str = "-", ratio: float | None = None,
            target: str = "-", ok: bool | None = None, note: str = "",
            value: Any = None) -> None:
        rows.append({"figure": figure, "modelops": mo, "baseline": base, "ratio": ratio,
                     "target": target, "pass": ok, "note": note, "value": value})

    lg = results["logging"]
    mo, bl = lg["modelops"], lg["baseline"]
    secs = lg["seconds"]
    what = f"log() at {TARGET_RATE:,}/s for {secs} s, 20 features"
    for key, label, target in (("median_s", "median", TARGET_LOG_MEDIAN_S),
                               ("p90_s", "p90", None), ("p99_s", "p99", TARGET_LOG_P99_S),
                               ("p999_s", "p99.9", None), ("max_s", "max", None)):
        row(f"{what}: {label}", fmt_time(mo[key]), fmt_time(bl[key]), bl[key] / mo[key],
            f"< {fmt_time(target)}" if target else "-",
            None if target is None else mo[key] < target, value=mo[key])
    row(f"{what}: achieved rate", fmt_rate(mo["rate"]), fmt_rate(bl["rate"]), None,
        f"≥ {TARGET_RATE * 0.98:,.0f}/s", mo["rate"] >= TARGET_RATE * 0.98,
        f"late slots (started > 20 ms behind): modelops {mo['late_slots']}, baseline "
        f"{bl['late_slots']}", value=mo["rate"])
    bound = PENDING_BOUND_BATCHES * lg["logger_options"]["batch_size"]
    row(f"{what}: writer keeps up, max stats.pending", f"{mo['pending_max']:,}", "-", None,
        f"< {bound:,}", mo["pending_max"] < bound,
        f"sampled after every 20 ms slot; per-second maxima min/median/max "
        f"{min(mo['pending_max_per_second']):,}/"
        f"{int(statistics.median(mo['pending_max_per_second'])):,}/"
        f"{max(mo['pending_max_per_second']):,}", value=mo["pending_max"])
    row(f"{what}: dropped", f"{mo['dropped']:,}", "-", None, "0", mo["dropped"] == 0,
        value=mo["dropped"])
    row(f"{what}: final flush() + close()", fmt_time(mo["final_flush_s"] + mo["close_s"]),
        fmt_time(bl["final_flush_s"]), None, f"< {fmt_time(TARGET_CLOSE_S)}",
        mo["final_flush_s"] + mo["close_s"] < TARGET_CLOSE_S,
        f"flush {fmt_time(mo['final_flush_s'])}, then close {fmt_time(mo['close_s'])}; "
        "baseline: f.flush()", value=mo["final_flush_s"] + mo["close_s"])
    row(f"{what}: on disk (read back / logged)", f"{mo['read_back']:,} / {mo['logged']:,}",
        f"{bl['lines']:,} / {bl['calls'] + 1000:,}", None, "all",
        mo["read_back"] == mo["logged"] == mo["written"],
        f"includes 1,000 warm-up calls; read back with ops.predictions.read in "
        f"{fmt_time(mo['read_back_s'])}; baseline: lines in the file",
        value=mo["read_back"])
    um, ub = lg["unpaced_modelops"], lg["unpaced_baseline"]
    row("unpaced throughput, tight loop ~1 s (info)", fmt_rate(um["rate"]),
        fmt_rate(ub["rate"]), um["rate"] / ub["rate"], "-", None,
        f"modelops dropped {um['dropped']}, close() {fmt_time(um['close_s'])}",
        value=um["rate"])

    rd = results["reads"]
    r24, h = rd["read_24h"], rd["health_24h"]
    n = r24["rows_expected"]
    row(f"read last 24 h ({r24['rows']:,} rows, {r24['with_feedback']:,} with feedback)",
        fmt_time(r24["median_s"]), "-", None, "-", None,
        f"ops.predictions.read(model, since=now-24h); median of "
        f"{rd['repeats']}: {', '.join(fmt_time(x) for x in r24['all_s'])}; complete: "
        f"{r24['complete']}", value=r24["median_s"])
    label = ("ops.monitor(model).health(window='24h')" if h["monitor_api"]
             else "read + sklearn metrics (monitor API not available)")
    row(f"24 h health of {n:,} predictions: {label}", fmt_time(h["median_s"]), "-", None,
        f"< {fmt_time(TARGET_READ_HEALTH_S)}", h["median_s"] < TARGET_READ_HEALTH_S,
        f"median of {rd['repeats']}: {', '.join(fmt_time(x) for x in h['all_s'])}"
        + (f"; ops.monitor failed: {h['monitor_error']}" if "monitor_error" in h else ""),
        value=h["median_s"])
    cd = rd["closed_day"]
    pb = cd["parts_before"]
    row(f"read closed day {cd['day']}, JSON-lines parts", fmt_time(cd["read_before_s"]), "-",
        None, f"< {fmt_time(TARGET_READ_HEALTH_S)}",
        cd["read_before_s"] < TARGET_READ_HEALTH_S,
        f"{pb['predictions']} prediction + {pb['feedback']} feedback parts; "
        f"{cd['rows_before']:,} rows; complete: {cd['complete']}", value=cd["read_before_s"])
    row(f"compact closed day {cd['day']} (info)", fmt_time(cd["compact_s"]), "-", None, "-",
        None, f"ops.predictions.compact -> {cd['parts_after']}", value=cd["compact_s"])
    row(f"read closed day {cd['day']}, after compaction", fmt_time(cd["read_after_s"]), "-",
        None, f"< {fmt_time(TARGET_READ_HEALTH_S)}", cd["read_after_s"] < TARGET_READ_HEALTH_S,
        f"same rows, feedback and probabilities as before: {cd['same_before_after']}",
        value=cd["read_after_s"])
    if cd["health_before_s"] is not None:
        for when in ("before", "after"):
            row(f"health of closed day {cd['day']}, {when} compaction (info)",
                fmt_time(cd[f"health_{when}_s"]), "-", None, "-", None,
                f"ops.monitor(model, now=<end of the day>).health(window='24h'), median of "
                f"{rd['repeats']}: "
                + ", ".join(fmt_time(x) for x in cd[f"health_{when}_all_s"]),
                value=cd[f"health_{when}_s"])
    sp = rd["small_parts"]
    row("read closed day in 12-record parts (info)", fmt_time(sp["read_s"]), "-", None, "-",
        None, f"{sp['parts']['predictions']:,} prediction + {sp['parts']['feedback']:,} "
        f"feedback parts (logger batch_size=12: the parts 1 s flushes of an 11.6/s service "
        f"leave); complete: {sp['complete']}", value=sp["read_s"])
    return rows


def print_table(rows: list[dict[str, Any]], results: dict[str, Any]) -> None:
    env = results["environment"]
    print()
    print(f"modelops {env['modelops']} | Python {env['python']} | {env['cpus']} CPUs | "
          f"{env['platform']} | load {env['load_start']} -> {env['load_end']}"
          + (" | QUICK (smoke sizes)" if env["quick"] else ""))
    print()
    headers = ["figure", "modelops", "baseline", "ratio", "target", "result"]
    table = [
        [r["figure"], r["modelops"], r["baseline"],
         "-" if r["ratio"] is None else f"{r['ratio']:.2f}x", r["target"],
         "info" if r["pass"] is None else ("PASS" if r["pass"] else "FAIL")]
        for r in rows
    ]
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("-" * len(line))
    for t in table:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(t, widths))))
    print()
    print("notes:")
    lg = results["logging"]
    mo, bl = lg["modelops"], lg["baseline"]
    print("  - ratio: baseline time ÷ modelops time per call (> 1: modelops is faster); for "
          "throughput, modelops rate ÷ baseline rate.")
    print(f"  - modelops: ops.predictions.logger(model, version='v1') with defaults "
          f"{lg['logger_options']}, log(features, prediction, probability, latency_ms) on a "
          "'serving' thread; its background writer writes parts in the same process.")
    print("  - baseline: the same records and pacing; per call {'id': uuid4().hex, 'ts': "
          "time_ns()//1e6, 'version', 'prediction', 'probability', 'latency_ms', 'features', "
          "'metadata': None} -> f.write(json.dumps(record) + '\\n') on a file opened once "
          f"(default buffering), flushed at the end ({bl['bytes'] / 1e6:,.0f} MB written).")
    print(f"  - pacing: sleep to the next {SLOT_S * 1e3:g} ms slot, then {PER_SLOT:,} calls, "
          f"timed one by one with perf_counter_ns into a preallocated numpy array; timer "
          f"floor {fmt_time(lg['timer_floor_s'])} is included in every figure, not "
          "subtracted. GC left on (as in a server).")
    print(f"  - calls over 100 µs: modelops {mo['over_100us']:,}, baseline "
          f"{bl['over_100us']:,}; over 1 ms: modelops {mo['over_1ms']:,}, baseline "
          f"{bl['over_1ms']:,} (of {mo['calls']:,} each). Mean: modelops "
          f"{fmt_time(mo['mean_s'])}, baseline {fmt_time(bl['mean_s'])}.")
    print(f"  - time inside the timed calls: modelops {mo['time_in_calls_s']:.2f} s, of it "
          f"{mo['time_in_calls_over_1ms_s']:.2f} s in calls over 1 ms; baseline "
          f"{bl['time_in_calls_s']:.2f} s, {bl['time_in_calls_over_1ms_s']:.2f} s (a paced run "
          f"has {lg['seconds']} s; above about {lg['seconds'] * 0.9:.0f} s the thread falls "
          "behind the schedule).")
    if "thread_involuntary_switches" in mo:
        print(f"  - serving thread context switches (getrusage RUSAGE_THREAD): involuntary "
              f"(preempted by the OS) modelops {mo['thread_involuntary_switches']:,}, "
              f"baseline {bl['thread_involuntary_switches']:,}; voluntary (sleeps between "
              f"slots, {mo['calls'] // PER_SLOT:,} of them, plus waits for the GIL or a lock) "
              f"modelops {mo['thread_voluntary_switches']:,}, baseline "
              f"{bl['thread_voluntary_switches']:,}.")
    print(f"  - load average during the paced runs: modelops {mo['load_start']} -> "
          f"{mo['load_end']}, baseline {bl['load_start']} -> {bl['load_end']} "
          f"({results['environment']['cpus']} CPUs, shared with other jobs).")
    print(f"  - process CPU during the paced run (all threads): modelops "
          f"{mo['process_cpu_cores']:.2f} cores, baseline {bl['process_cpu_cores']:.2f} "
          f"cores; sys.getswitchinterval() = {lg['switch_interval_s'] * 1e3:g} ms.")
    rd = results["reads"]
    gen = rd["generated"]
    h = rd["health_24h"]
    print(f"  - generated with the logger (untimed): {gen['n']:,} predictions per store, half "
          "with feedback (85 % equal to the prediction), timestamps uniform over the day; "
          + "; ".join(f"{k}: {gen[k]['parts']['predictions']} + {gen[k]['parts']['feedback']} "
                      f"parts, {'reused' if gen[k]['reused'] else fmt_time(gen[k]['generate_s'])}"
                      for k in ("day", "closed", "small"))
          + ". Reads are warm: the files are in the OS page cache.")
    mon = gen["day"].get("monitoring", {})
    print(f"  - health figure: {h['what']}, timed including its own read, median of "
          f"{rd['repeats']}; the model has a production version registered with metrics "
          f"{mon.get('metrics')} (degradation baseline) and a reference profile of "
          f"{mon.get('reference_rows')} rows x {mon.get('reference_columns')} features "
          f"(input drift); report: {json.dumps(h['report'], default=str)[:400]}")
    print()


def scale(args: argparse.Namespace) -> int:
    """24 h health at growing sizes against DuckDB's count+mean (``prediction_scale``)."""
    from prediction_scale import curve

    sizes = [25_000, 50_000, 100_000] if args.quick else [250_000, 500_000, 1_000_000]
    # A model that has logged for two days; the window ends at noon, so it is the afternoon
    # of one day and the morning of the next.
    result = curve("health", sizes, 24, args.repeats or 3, args.keep, history=2, end_hour=12)
    top = result["points"][-1]
    mine, duck = top["modelops"], top["duckdb"]
    if not args.quick:
        def verdict(ok: bool) -> str:
            return "PASS" if ok else "FAIL"

        ratio = mine["seconds"] / duck["seconds"]
        print(f"\n1,000,000 predictions: health {mine['seconds']:.2f} s (target <= "
              f"{TARGET_SCALE_HEALTH_S} s: {verdict(mine['seconds'] <= TARGET_SCALE_HEALTH_S)}), "
              f"{ratio:.2f}x DuckDB (target <= {TARGET_SCALE_RATIO}x: "
              f"{verdict(ratio <= TARGET_SCALE_RATIO)}), peak RSS {mine['peak_mb']:,.0f} MB "
              f"(target <= {TARGET_SCALE_RSS_MB} MB: "
              f"{verdict(mine['peak_mb'] <= TARGET_SCALE_RSS_MB)})")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2, default=str)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 5 s paced runs, 100,000 predictions a day")
    parser.add_argument("--json", metavar="PATH", help="write every figure to PATH as JSON")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory, and keep (and reuse on the next "
                        "--keep run) the generated day stores")
    parser.add_argument("--scale", action="store_true",
                        help="only the scaling curve: 24 h health over 250,000 to 1,000,000 "
                        "predictions (--quick: 25,000 to 100,000) of a store holding two days, "
                        "time and peak RSS in fresh processes, DuckDB's count+mean per version "
                        "beside it")
    parser.add_argument("--repeats", type=int,
                        help="--scale: fresh processes per figure (default 3)")
    args = parser.parse_args(argv)
    if args.scale:
        return scale(args)

    seconds = 5 if args.quick else 30
    n_day = 100_000 if args.quick else 1_000_000
    repeats = 3
    unpaced_s = 1.0

    import modelops

    results: dict[str, Any] = {
        "environment": {
            "modelops": modelops.__version__, "python": platform.python_version(),
            "cpus": os.cpu_count(), "platform": platform.platform(), "quick": args.quick,
            "load_start": load(),
        },
    }
    tmp = tempfile.mkdtemp(prefix="modelops-bench-predictions-")
    cache = (os.path.join(tempfile.gettempdir(), "modelops-bench-predictions-cache",
                          "quick" if args.quick else "full") if args.keep
             else os.path.join(tmp, "generated"))
    os.makedirs(cache, exist_ok=True)
    results["environment"].update({"tmpdir": tmp, "cache": cache})
    pool = make_pool(POOL)
    try:
        print(f"[1/2] log() paced at {TARGET_RATE:,}/s for {seconds} s (modelops, then the "
              "hand-written baseline) ...", flush=True)
        ops = modelops.connect(os.path.join(tmp, "serving"))
        results["logging"] = bench_logging(ops, tmp, pool, seconds, unpaced_s)
        results["logging"]["timer_floor_s"] = timer_floor()
        results["logging"]["switch_interval_s"] = sys.getswitchinterval()
        ops.close()
        if not args.keep:  # about 1 GB of parts: free the space before generating
            shutil.rmtree(os.path.join(tmp, "serving"), ignore_errors=True)
        print(f"[2/2] a day of {n_day:,} predictions: read, health, compaction ...",
              flush=True)
        results["reads"] = bench_reads(modelops, cache, tmp, n_day, pool, args.keep, repeats)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    results["environment"]["load_end"] = load()

    rows = rows_of(results)
    results["table"] = rows
    print_table(rows, results)
    rd = results["reads"]
    complete = (rd["read_24h"]["complete"] and rd["closed_day"]["complete"]
                and rd["closed_day"]["same_before_after"] and rd["small_parts"]["complete"])
    if not complete:
        print("ERROR: a read did not return every generated prediction and feedback; the "
              "read figures are not of the full day.", file=sys.stderr)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2, default=str)
        print(f"figures written to {args.json}")
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
