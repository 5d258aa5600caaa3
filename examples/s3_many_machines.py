"""Many machines, one bucket: workers that share nothing but an S3 endpoint.

Four worker processes (stand-ins for four machines) start at the same moment and each
registers three versions of one model, letting the registry pick the next version number,
and logs predictions for it. Afterwards the parent checks that every registration got its own
version (none claimed twice, none lost) and that every prediction is there.

    python examples/s3_many_machines.py s3://my-bucket/mlops   # your bucket (AWS settings
                                                               # from the environment)
    python examples/s3_many_machines.py                        # a local S3 server (moto)

Workers find the endpoint and credentials in the environment, as separate machines would
(``AWS_ENDPOINT_URL_S3``, ``AWS_ACCESS_KEY_ID`` …, or a profile).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

import modelops

WORKERS = 4
VERSIONS_EACH = 3
PREDICTIONS_EACH = 2_000


def worker(uri: str, index: int, start_at: float) -> None:
    ops = modelops.connect(uri)
    time.sleep(max(0.0, start_at - time.time()))  # start together, to race for real
    claimed = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(VERSIONS_EACH):
            path = os.path.join(tmp, "model.txt")
            with open(path, "w") as f:
                f.write(f"worker {index}, model {k}\n")
            version = ops.registry.register("churn", path, tags={"worker": str(index)})
            claimed.append(version.version)
    with ops.predictions.logger("churn") as log:
        for i in range(PREDICTIONS_EACH):
            log.log({"worker": index, "i": i}, i % 2)
    print(json.dumps(claimed))


def run(uri: str) -> None:
    start_at = time.time() + 2.0
    procs = [subprocess.Popen([sys.executable, __file__, uri, "--worker", str(i),
                               "--start-at", str(start_at)], stdout=subprocess.PIPE,
                              text=True)
             for i in range(WORKERS)]
    claimed = []
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        if proc.returncode:
            raise SystemExit(f"a worker failed with exit code {proc.returncode}")
        claimed.append(json.loads(out.strip().splitlines()[-1]))
    for i, versions in enumerate(claimed):
        print(f"worker {i} registered {', '.join(versions)}")
    every = [v for versions in claimed for v in versions]
    ops = modelops.connect(uri)
    stored = sorted(v.version for v in ops.registry.list_versions("churn"))
    predictions = len(ops.predictions.read("churn"))
    print(f"{len(every)} registrations, {len(set(every))} distinct versions, {len(stored)} "
          f"stored; {predictions} predictions stored of {WORKERS * PREDICTIONS_EACH} logged")
    if len(set(every)) != len(every) or sorted(every) != stored or \
            predictions != WORKERS * PREDICTIONS_EACH:
        raise SystemExit("a version was claimed twice or something was lost")
    print("no version claimed twice, nothing lost")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("uri", nargs="?", help="s3://bucket/prefix (default: a local server)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        worker(args.uri, args.worker, args.start_at)
        return 0
    if args.uri:
        run(args.uri)
        return 0
    from modelops_s3.testing import LocalS3Server

    with LocalS3Server() as server:
        server.create_bucket("machines")
        os.environ.update(server.environ())  # what each machine's environment would say
        run(f"s3://machines/{uuid.uuid4().hex[:8]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
