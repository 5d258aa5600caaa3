"""S3 benchmarks: what each operation costs on S3, in time and in requests.

Starts moto's S3 server on 127.0.0.1 (``modelops_s3.testing.LocalS3Server``), runs every
figure against it through ``modelops.connect("s3://…")`` and the same figure on local disk,
counts the HTTP requests each S3 figure sent (botocore's event hooks, retries included), and
prints a table::

    figure | S3 time | S3 requests | requests per 1,000 records | local disk | S3 / local

The aim is that requests grow with batches, not with records: 100,000 metric points or
predictions should cost about as many requests as 10,000. The figure "the same, 10x fewer
records" shows that side by side. Raw request latency (one small PUT, one GET through s3fs)
is measured in the same run, as the unit everything else is built from.

Usage::

    python benchmarks/bench_s3.py                 # full sizes: 50 registrations, 100,000 records
    python benchmarks/bench_s3.py --quick         # smoke run: 10 registrations, 10,000 records
    python benchmarks/bench_s3.py --json out.json # also write every figure as JSON

Needs ``modelops`` and ``modelops-s3[test]`` (moto's server) importable by the same
interpreter. The local figures write to a fresh temporary directory. The server keeps
everything in memory and is stopped at the end.

The benchmark reports what it measures; it is not tuned to pass.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from no_scaling import add_scale_option, stops_for_scale

perf = time.perf_counter
DAY_MS = 86_400_000
T0 = 1_790_000_000_000 - 1_790_000_000_000 % DAY_MS


def _median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def raw_latency(server: Any, rounds: int) -> dict[str, float]:
    """One small PUT and one GET through s3fs, the unit every figure is made of."""
    fs = server.filesystem()
    puts, gets = [], []
    for i in range(rounds):
        t = perf()
        fs.pipe_file(f"bench/raw/{i}", b"x" * 200)
        puts.append(perf() - t)
        t = perf()
        fs.cat_file(f"bench/raw/{i}", max_concurrency=1)
        gets.append(perf() - t)
    return {"put_ms": _median_ms(puts), "get_ms": _median_ms(gets)}


def bench_register(ops: Any, counter: Any, n: int, workdir: str) -> dict[str, Any]:
    """``ops.registry.register`` of a 1 KB file, ``n`` times (versions 1.0.0 …)."""
    path = os.path.join(workdir, "model.bin")
    times, requests = [], []
    for i in range(n + 1):
        with open(path, "wb") as f:
            f.write(os.urandom(1024))
        before = counter.total if counter else 0
        t = perf()
        ops.registry.register("bench", path)
        elapsed = perf() - t
        if i:  # the first creates the model: a warm-up
            times.append(elapsed)
            requests.append((counter.total if counter else 0) - before)
        elif counter:
            counter.reset()
    by_operation = {k: v / n for k, v in counter.counts.items()} if counter else {}
    assert len(ops.registry.list_versions("bench")) == n + 1
    return {"time_ms": _median_ms(times), "requests": statistics.mean(requests),
            "records": 1, "by_operation": by_operation}


def _counted(counter: Any, before: int, elapsed: float, records: int) -> dict[str, Any]:
    """A figure's time and the requests it made (before any checking reads)."""
    return {"time_ms": elapsed * 1000, "records": records,
            "requests": (counter.total if counter else 0) - before,
            "by_operation": dict(counter.counts) if counter else {}}


def bench_metrics(ops: Any, counter: Any, points: int) -> dict[str, Any]:
    """One run logging ``points`` metric points one call at a time; flush and end
    included."""
    before = counter.total if counter else 0
    t = perf()
    with ops.tracking.start_run(experiment="bench") as run:
        log = run.log_metric
        for i in range(points):
            log("loss", 1.0 / (i + 1), step=i)
    elapsed = perf() - t
    out = _counted(counter, before, elapsed, points)
    assert len(ops.tracking.get_metric_history(run.run_id, "loss")) == points
    return out


def bench_predictions(ops: Any, counter: Any, records: int, model: str) -> dict[str, Any]:
    """A logger logging ``records`` predictions with 10 features, closed (flushed) at the
    end."""
    features = {f"f{j}": float(j) for j in range(10)}
    before = counter.total if counter else 0
    t = perf()
    with ops.predictions.logger(model) as log:
        for i in range(records):
            log.log(features, i % 2, probability=0.5, timestamp=T0 + i)
    elapsed = perf() - t
    out = _counted(counter, before, elapsed, records)
    assert log.stats.written == records and log.stats.dropped == 0
    return out


def run(quick: bool) -> dict[str, Any]:
    from modelops_s3.testing import LocalS3Server, RequestCounter

    import modelops

    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    n_register = 10 if quick else 50
    records = 10_000 if quick else 100_000
    results: dict[str, Any] = {"machine": platform.platform(), "python": sys.version.split()[0],
                               "quick": quick, "figures": []}
    with LocalS3Server() as server, tempfile.TemporaryDirectory() as tmp:
        server.create_bucket("bench")
        results["raw"] = raw_latency(server, 20 if quick else 50)
        s3 = modelops.connect("s3://bench/modelops", storage_options=server.storage_options())
        local = modelops.connect(os.path.join(tmp, "local"))

        def pair(name: str, fn: Callable[[Any, Any], dict[str, Any]], kind: str,
                 smaller: Callable[[Any, Any], dict[str, Any]] | None = None) -> None:
            with RequestCounter(s3.store(kind).storage.fs) as counter:
                on_s3 = fn(s3, counter)
                counter.reset()
                fewer = smaller(s3, counter) if smaller else None
            on_disk = fn(local, None)
            results["figures"].append({"figure": name, "s3": on_s3, "local": on_disk,
                                       "fewer": fewer})

        print(f"[1/3] registering {n_register} versions ...", flush=True)
        pair("register a version (1 KB file)",
             lambda ops, c: bench_register(ops, c, n_register, tmp), "registry")
        print(f"[2/3] logging {records:,} metric points ...", flush=True)
        pair(f"log {records:,} metric points (one run, flush and end included)",
             lambda ops, c: bench_metrics(ops, c, records), "tracking",
             lambda ops, c: bench_metrics(ops, c, records // 10))
        print(f"[3/3] logging {records:,} predictions ...", flush=True)
        pair(f"log {records:,} predictions (logger closed at the end)",
             lambda ops, c: bench_predictions(ops, c, records, "big"), "predictions",
             lambda ops, c: bench_predictions(ops, c, records // 10, "small"))
        s3.close()
        local.close()
    return results


def _fmt_ms(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.1f} ms"


def report(results: dict[str, Any]) -> None:
    raw = results["raw"]
    print()
    print(f"S3: moto's server on 127.0.0.1; one small PUT {raw['put_ms']:.1f} ms, one GET "
          f"{raw['get_ms']:.1f} ms (median, through s3fs)")
    header = ("figure", "S3 time", "S3 requests", "per 1,000 records", "local disk",
              "S3 / local")
    rows = []
    for f in results["figures"]:
        s3, local = f["s3"], f["local"]
        per_k = s3["requests"] / s3["records"] * 1000 if s3["records"] > 1 else None
        rows.append((f["figure"], _fmt_ms(s3["time_ms"]), f"{s3['requests']:g}",
                     "-" if per_k is None else f"{per_k:.3g}", _fmt_ms(local["time_ms"]),
                     f"{s3['time_ms'] / local['time_ms']:.1f}x"))
        fewer = f["fewer"]
        if fewer:
            rows.append((f"  the same, 10x fewer records ({fewer['records']:,})",
                         _fmt_ms(fewer["time_ms"]), f"{fewer['requests']:g}",
                         f"{fewer['requests'] / fewer['records'] * 1000:.3g}", "", ""))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = " | ".join(h.ljust(w) for h, w in zip(header, widths))
    print(line)
    print("-" * len(line))
    for r in rows:
        print(" | ".join(str(v).ljust(w) for v, w in zip(r, widths)))
    print()
    print("register: median per call; requests: mean per call. Logging: one pass each, the "
          "logger's or run's final flush included.")
    print("requests by S3 operation (register: per call):")
    for f in results["figures"]:
        ops = ", ".join(f"{k} {v:g}" for k, v in sorted(f["s3"]["by_operation"].items()))
        print(f"  - {f['figure']}: {ops}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 10 registrations, 10,000 records")
    parser.add_argument("--json", metavar="PATH", help="write every figure to PATH as JSON")
    add_scale_option(parser)
    args = parser.parse_args(argv)
    if stops_for_scale(parser, args):
        return 0
    results = run(args.quick)
    report(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
