"""Peak memory of reading a day of predictions back, measured in a fresh process.

One day of 1,000,000 predictions (``--quick``: 200,000), half with feedback, is logged with
the logger (the records of ``bench_predictions.py``, a HIGH/LOW prediction, probability,
latency and the first ``--features`` of its 20 features: 9 by default, which makes the day
the issue measured — about 380 bytes a prediction, 383 MB of parts; ``--features 20`` makes
a wider one of about 560 MB), then a fresh Python process reads it
with ``ops.predictions.read(model, since=day start, until=day end)`` and reports its peak
resident set size, the time the read took, and — for the
share that is the read's own — the peak RSS of a process that imports the same modules and
opens the store but reads nothing. The peak is the process's ``VmHWM`` where Linux reports it
(``ru_maxrss`` keeps the peak of the parent a process was forked from), else ``ru_maxrss``.
Each read is repeated in ``--repeats`` fresh processes and
the largest peak is kept.

The target: a day of 1,000,000 predictions read in at most 512 MB peak RSS
(``MODELOPS_READ_BATCH_BYTES``, the bytes of parts parsed at once, at its default).
``--batch-mb`` sets that setting for the reading processes.

Usage::

    python benchmarks/bench_prediction_memory.py            # 1,000,000 predictions
    python benchmarks/bench_prediction_memory.py --quick    # 200,000
    python benchmarks/bench_prediction_memory.py --keep     # keep (and reuse) the store

The benchmark reports what it measures; it is not tuned to pass. A FAIL is a finding.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_predictions import DAY_MS, generate_day, make_pool

TARGET_PEAK_MB = 512
TARGET_WEEK_PEAK_MB = 500  # --scale: a 7-day window of 5,000,000 predictions
MODEL = "fraud"

READER = r"""
import json, resource, sys, time
import modelops
store, start, end, read = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
ops = modelops.connect(store)
import pyarrow, pyarrow.json, pyarrow.compute, pyarrow.parquet  # what a read loads anyway
ops.predictions.models()
t0 = time.perf_counter()
rows = with_feedback = 0
if read:
    table = ops.predictions.read("fraud", since=start, until=end)
    rows = len(table)
    with_feedback = int(sum(a is not None for a in table.actuals))
took = time.perf_counter() - t0
try:  # this process image's own peak (ru_maxrss keeps a forking parent's across exec)
    with open("/proc/self/status") as f:
        peak_kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
except OSError:
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_mb": peak_kb / 1024, "seconds": took, "rows": rows,
                  "with_feedback": with_feedback}))
"""


def measure(store: str, start: int, end: int, read: bool, env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", READER, store, str(start), str(end),
                          "1" if read else "0"], capture_output=True, text=True, env=env,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def folder_mb(path: str) -> float:
    """Megabytes (10^6 bytes, as file sizes are usually quoted) of the files below path."""
    total = 0
    for dirpath, _, names in os.walk(path):
        total += sum(os.path.getsize(os.path.join(dirpath, n)) for n in names)
    return total / 1e6


def scale(args: argparse.Namespace) -> int:
    """7-day health at growing sizes against DuckDB's count+mean (``prediction_scale``)."""
    from prediction_scale import curve

    sizes = [125_000, 250_000, 500_000] if args.quick else [1_250_000, 2_500_000, 5_000_000]
    result = curve("health", sizes, 7 * 24, 1, args.keep)  # one process a figure
    top = result["points"][-1]["modelops"]
    if not args.quick:
        verdict = "PASS" if top["peak_mb"] <= TARGET_WEEK_PEAK_MB else "FAIL"
        print(f"\n5,000,000 predictions over 7 days: peak RSS {top['peak_mb']:,.0f} MB "
              f"(target <= {TARGET_WEEK_PEAK_MB} MB: {verdict}), time growth exponent "
              f"{result['exponents']['modelops_time']:.2f} (target: linear, <= 1.1)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2, default=str)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200,000 predictions")
    parser.add_argument("--rows", type=int, help="predictions in the day")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-mb", type=int, help="MODELOPS_READ_BATCH_BYTES, in MB")
    parser.add_argument("--features", type=int, default=9,
                        help="features per prediction, of 20 (default 9)")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the store")
    parser.add_argument("--json", metavar="PATH", help="write the figures to PATH as JSON")
    parser.add_argument("--scale", action="store_true",
                        help="only the scaling curve: 7-day health over 1,250,000 to 5,000,000 "
                        "predictions (--quick: 125,000 to 500,000), time and peak RSS in a "
                        "fresh process, DuckDB's count+mean per version beside it")
    args = parser.parse_args(argv)
    if args.scale:
        return scale(args)
    n = args.rows or (200_000 if args.quick else 1_000_000)

    import modelops

    work = os.path.join(tempfile.gettempdir(), f"modelops-bench-memory-{n}-{args.features}")
    start = (int(time.time() * 1000) // DAY_MS - 3) * DAY_MS  # a closed day
    end = start + DAY_MS
    marker = os.path.join(work, "ready.json")
    if not (args.keep and os.path.exists(marker)):
        shutil.rmtree(work, ignore_errors=True)
        ops = modelops.connect(os.path.join(work, "store"))
        t0 = time.perf_counter()
        pool = make_pool(4096)
        pool["features"] = [dict(list(f.items())[:args.features]) for f in pool["features"]]
        generate_day(ops, MODEL, n, start, end, end, seed=5, pool=pool, batch_size=20_000)
        with open(marker, "w") as f:
            json.dump({"start": start, "generate_s": time.perf_counter() - t0}, f)
    with open(marker) as f:
        start = json.load(f)["start"]
        end = start + DAY_MS
    store = os.path.join(work, "store")
    env = dict(os.environ)
    if args.batch_mb:
        env["MODELOPS_READ_BATCH_BYTES"] = str(args.batch_mb << 20)
    idle = max((measure(store, start, end, False, env) for _ in range(args.repeats)),
               key=lambda r: r["peak_mb"])
    reads = [measure(store, start, end, True, env) for _ in range(args.repeats)]
    peak = max(reads, key=lambda r: r["peak_mb"])
    files = folder_mb(os.path.join(store, "predictions"))
    # The target is the day of a million predictions; other sizes are informational.
    verdict = ("PASS" if peak["peak_mb"] <= TARGET_PEAK_MB else "FAIL") if n == 1_000_000 \
        else "-"
    print(f"a day of {n:,} predictions with {args.features} features "
          f"({peak['with_feedback']:,} with feedback), {files:,.0f} MB of parts")
    print(f"{'figure':<44} {'value':>12}  target")
    print(f"{'peak RSS of the read (largest of ' + str(args.repeats) + ')':<44} "
          f"{peak['peak_mb']:>9,.0f} MB  <= {TARGET_PEAK_MB:,} MB for 1,000,000 rows "
          f"{verdict}")
    print(f"{'peak RSS, same process reading nothing':<44} {idle['peak_mb']:>9,.0f} MB")
    print(f"{'the read own share':<44} {peak['peak_mb'] - idle['peak_mb']:>9,.0f} MB")
    print(f"{'read time (median)':<44} "
          f"{sorted(r['seconds'] for r in reads)[len(reads) // 2]:>10,.2f} s")
    print(f"{'rows read':<44} {peak['rows']:>12,}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": n, "files_mb": files, "peak_mb": peak["peak_mb"],
                       "idle_mb": idle["peak_mb"], "reads": reads, "verdict": verdict}, f,
                      indent=2)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if verdict == "FAIL" else 0


if __name__ == "__main__":
    sys.exit(main())
