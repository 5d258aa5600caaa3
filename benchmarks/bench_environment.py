"""What recording a run's environment costs: ``start_run`` + ``end`` on a local store with
the environment tags (Python, platform, git commit and dirty state) against the same with
them switched off, and the first capture of a process (where ``git`` runs).

Usage::

    python benchmarks/bench_environment.py            # 300 runs each way, medians
    python benchmarks/bench_environment.py --runs 50

Run it from inside a git work tree to include git's cost in the first capture. The
benchmark reports what it measures; it is not tuned to pass.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import modelops
from modelops import environment

#: The environment may add at most this share to a run's start and end (after the first).
TARGET_SHARE = 0.05


def _runs(ops: modelops.Client, n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        with ops.tracking.start_run(experiment="bench"):
            pass
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()

    environment.git_state.cache_clear()
    environment._machine.cache_clear()
    started = time.perf_counter()
    tags = environment.run_tags()
    first = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as root:
        ops = modelops.connect(root)
        _runs(ops, 20)                                   # warm up both ways
        real = environment.run_tags
        rounds_with, rounds_without = [], []
        for _ in range(3):                               # interleaved against drift
            rounds_with += _runs(ops, args.runs // 3)
            environment.run_tags = dict             # type: ignore[assignment]
            try:
                rounds_without += _runs(ops, args.runs // 3)
            finally:
                environment.run_tags = real         # type: ignore[assignment]
    with_env, without = statistics.median(rounds_with), statistics.median(rounds_without)
    added = with_env - without
    share = added / without
    print(f"environment tags: {sorted(tags)}")
    print(f"first capture in this process (git included): {first * 1e3:.1f} ms")
    print(f"start_run + end, median of {len(rounds_with)}: {with_env * 1e3:.3f} ms with the "
          f"environment, {without * 1e3:.3f} ms without")
    print(f"added per run: {added * 1e6:.1f} µs ({share:+.1%}); target at most "
          f"{TARGET_SHARE:.0%}: {'PASS' if share <= TARGET_SHARE else 'FAIL'}")


if __name__ == "__main__":
    main()
