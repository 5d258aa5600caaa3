"""Every modelops store in one S3 bucket: tracking, registry, drift, predictions, monitoring.

    python examples/s3_quickstart.py s3://my-bucket/mlops     # your bucket: credentials,
                                                             # region and endpoint the AWS way
    python examples/s3_quickstart.py                         # a local S3 server (moto) for
                                                             # the demo, stopped at the end

The first form reads credentials, region and endpoint as boto does (``AWS_*`` variables,
``AWS_PROFILE``, ``~/.aws``); ``--endpoint-url`` points it at MinIO or another
S3-compatible store. The second needs ``pip install "modelops-s3[test]"``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid

import numpy as np

import modelops


def tour(ops: modelops.Client) -> None:
    rng = np.random.default_rng(7)

    # Tracking: a run with params, a metric history and an artifact.
    with ops.tracking.start_run(experiment="fraud-training", name="lr-0.1") as run:
        run.log_params({"lr": 0.1, "depth": 4})
        for step in range(100):
            run.log_metric("loss", 1 / (step + 1), step=step)
        run.log_metrics({"f1": 0.91, "auc": 0.95})
        run.log_text("threshold: 0.5\n", "config.yaml")
    found = ops.tracking.search_runs("fraud-training", filter="metrics.f1 > 0.9")
    print(f"tracked run {run.run_id}: loss at step 99 = "
          f"{ops.tracking.get_run(run.run_id).metrics['loss']:.4f}; "
          f"search found {len(found)} run(s)")

    # Registry: a version claimed exclusively, promoted, loaded back by URI.
    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, "weights.txt")
        with open(weights, "w") as f:
            f.write("w = [0.3, -1.2, 0.8]\n")
        version = ops.registry.register("fraud", weights, run=run)
        ops.registry.promote("fraud", version.version, stage="production")
        served = ops.registry.resolve("models:/fraud@production")
    print(f"registered fraud {version.version} with f1={version.metrics['f1']}; "
          f"production is {served.version}")

    # Drift: a reference profile, then a check of shifted data.
    reference = {"amount": rng.lognormal(3, 1, 5_000), "age": rng.normal(40, 10, 5_000)}
    current = {"amount": rng.lognormal(3.4, 1, 2_000), "age": rng.normal(40, 10, 2_000)}
    ops.drift.fit_reference("fraud", reference)
    report = ops.drift.check("fraud", current)
    print(f"drift: {report.drifted_columns} drifted "
          f"({len(ops.drift.reports('fraud'))} report(s) stored)")

    # Predictions: buffered parts, never appended to; feedback joins them by id.
    with ops.predictions.logger("fraud", version=version.version) as log:
        ids = [log.log({"amount": float(a)}, int(a > 40), probability=0.7)
               for a in current["amount"][:500]]
        for pid in ids[:200]:
            log.feedback(pid, actual=0)
    table = ops.predictions.read("fraud")
    print(f"logged {len(table)} predictions, {int(table.has_feedback.sum())} with feedback; "
          f"health: {ops.monitor('fraud').health().status}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("uri", nargs="?", help="s3://bucket/prefix (default: a local server)")
    parser.add_argument("--endpoint-url", help="an S3-compatible endpoint (MinIO, …)")
    args = parser.parse_args(argv)
    options = {"endpoint_url": args.endpoint_url} if args.endpoint_url else None
    if args.uri:
        tour(modelops.connect(args.uri, storage_options=options))
        return 0
    from modelops_s3.testing import LocalS3Server

    with LocalS3Server() as server:
        server.create_bucket("quickstart")
        uri = f"s3://quickstart/{uuid.uuid4().hex[:8]}"
        print(f"local S3 server at {server.endpoint_url}; store {uri}")
        tour(modelops.connect(uri, storage_options=server.storage_options()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
