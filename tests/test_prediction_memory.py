"""Reading a day of predictions streams by part: its memory is about its result's, not a
multiple of the files'. Measured as the peak resident set of a fresh process (Linux's
``VmHWM``) during the read, above what it held just before; ``bench_prediction_memory.py``
measures the full day of a million predictions."""

import json
import random
import subprocess
import sys

import pytest
from conftest import python_env

import modelops

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"),
                                 reason="reads VmHWM from /proc")]
pytest.importorskip("pyarrow")

DAY = 86_400_000
T0 = 1_790_000_000_000 - 1_790_000_000_000 % DAY
ROWS, PART = 200_000, 20_000

READER = """
import json, sys, modelops
def status(key):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(key + ":")) / 1024
ops = modelops.connect(sys.argv[1])
ops.predictions.read("tiny")  # loads every module a read needs, and Arrow's pools
before = status("VmRSS")
table = ops.predictions.read("day", since=int(sys.argv[2]), until=int(sys.argv[2]) + 86400000)
print(json.dumps({"rows": len(table), "share_mb": status("VmHWM") - before}))
"""


def _write_day(ops):
    rng = random.Random(3)
    store = ops.predictions.store
    size = 0
    for start in range(0, ROWS, PART):
        lines = "".join(json.dumps({
            "id": f"{i:032x}", "ts": T0 + i * (DAY // ROWS), "version": "1.0.0",
            "prediction": rng.choice(["HIGH", "LOW"]), "probability": rng.random(),
            "latency_ms": rng.random() * 10, "metadata": None,
            "features": {f"f{k}": round(rng.random() * 100, 2) for k in range(9)},
        }, separators=(",", ":")) + "\n" for i in range(start, start + PART)).encode()
        store.write_part("day", "predictions", "2026-09-21", lines)
        size += len(lines)
    store.write_part("day", "feedback", "2026-09-21", "".join(
        json.dumps({"id": f"{i:032x}", "ts": T0 + DAY - 1, "actual": "HIGH"}) + "\n"
        for i in range(0, ROWS, 2)).encode())
    with ops.predictions.logger("tiny") as log:
        log.log({"f0": 1.0}, "HIGH", timestamp=T0)
    return size / 2**20


def test_a_day_of_predictions_reads_in_about_its_results_memory(tmp_path):
    ops = modelops.connect(tmp_path)
    files_mb = _write_day(ops)
    out = subprocess.run([sys.executable, "-c", READER, str(tmp_path), str(T0)],
                         capture_output=True, text=True, env=python_env(), check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["rows"] == ROWS
    # 55 MB of parts: the result (ids as Python strings, 9 features …) is about 45 MB, and
    # the streaming read peaks about 110 MB above where it started (a fixed 60-70 MB of
    # parsing and allocator slack on top); reading everything at once took about 240 MB.
    assert files_mb > 50
    assert got["share_mb"] < 160, (got, files_mb)
