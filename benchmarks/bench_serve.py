"""Serving benchmark: ``modelops serve`` against ``mlflow models serve``, with ``wrk``.

One scikit-learn model (a ``StandardScaler`` + ``LogisticRegression`` pipeline fitted on a
DataFrame of 8 named numeric columns) is registered in a fresh modelops store and saved as an
MLflow model (``mlflow.sklearn.save_model``, same object). The three servers below run side by
side, one worker each, on 127.0.0.1, and take turns: ``wrk -t2 -c8 -d<seconds>s --latency``
posts the same request at one while the others idle, in ``--rounds`` rounds (the medians are
reported, and every round's rate):

- ``modelops serve models:/bench@production --workers 1`` — every prediction logged through
  the prediction logger (the default), body ``{"features": {...}}`` or, for 100 records,
  pandas' split orient;
- the same with ``--no-log`` — what logging costs is the difference;
- ``mlflow models serve -m <dir> --env-manager local --workers 1`` — logs nothing; body
  ``{"dataframe_records": [...]}`` or ``{"dataframe_split": {...}}``.

Figures: requests per second, p50 and p99 latency (wrk's), for single-record requests and for
100-record batches. Targets (from the issue): modelops with logging ≥ 2× MLflow's requests
per second at equal or lower p99; logging costs ≤ 10 % of the served rate. After the logged
runs the server is stopped (SIGINT: its loggers flush) and the store is read back: the count
of logged predictions is printed beside wrk's count of answered requests × records.

The in-process figures: ``model.predict`` on a one-row DataFrame, and the server's own
handling of a request without HTTP (``ModelServer.predict``: shape the records, check the
signature, one ``predict_proba`` pass — by the model's array twin, which this model of float
columns gets — and log), and the twin's ``predict_proba`` on the same row as an array; medians
over 2,000 calls.

Usage::

    python benchmarks/bench_serve.py              # 3 rounds of 10 s per wrk run (5 minutes)
    python benchmarks/bench_serve.py --quick      # 1 round of 5 s
    python benchmarks/bench_serve.py --json out.json

``wrk`` is the Debian package ``wrk`` (``apt-get install -y wrk``); without it the script says
so and exits. The benchmark reports what it measures; a FAIL is a finding.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np
from no_scaling import add_scale_option, stops_for_scale

TARGET_RPS_RATIO = 2.0
TARGET_LOGGING_COST = 0.10
COLUMNS = [f"f{i}" for i in range(8)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} never answered")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)      # a graceful stop: loggers flush
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * _UNITS[unit]


def run_wrk(url: str, body: str, seconds: int, workdir: str) -> dict[str, float]:
    script = os.path.join(workdir, "post.lua")
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                f"wrk.body = {json.dumps(body)}\n")
    out = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "-s", script, url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    answered = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "requests": answered,
            "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else ""}


def make_model(workdir: str) -> tuple[Any, Any, str, str]:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import modelops

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(5_000, len(COLUMNS))), columns=COLUMNS)
    y = (x["f0"] + 0.5 * x["f1"] - x["f2"] > 0).astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    store = os.path.join(workdir, "modelops")
    ops = modelops.connect(store)
    version = ops.registry.register("bench", model, input_example=x.head(5))
    ops.registry.promote("bench", version.version, stage="production")
    ops.close()
    import mlflow.sklearn

    mlflow_dir = os.path.join(workdir, "mlflow-model")
    mlflow.sklearn.save_model(model, mlflow_dir)
    return model, x, store, mlflow_dir


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
    # mlflow models serve runs `uvicorn` from PATH: this interpreter's.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def start_modelops(store: str, port: int, log: bool) -> subprocess.Popen:
    code = "import sys; from modelops.cli import main; sys.exit(main())"
    command = [sys.executable, "-c", code, "--uri", store, "serve", "models:/bench@production",
               "--port", str(port), "--workers", "1", "--log-level", "warning"]
    if not log:
        command.append("--no-log")
    return subprocess.Popen(command, env=child_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)


def start_mlflow(model_dir: str, port: int) -> subprocess.Popen:
    mlflow = os.path.join(os.path.dirname(sys.executable), "mlflow")
    command = [mlflow, "models", "serve", "-m", model_dir, "--env-manager", "local",
               "-h", "127.0.0.1", "-p", str(port), "-w", "1"]
    return subprocess.Popen(command, env=child_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)


def bodies(x: Any) -> dict[str, dict[str, str]]:
    one = x.head(1).to_dict(orient="records")[0]
    batch = x.head(100)
    split = {"columns": list(batch.columns), "data": batch.to_numpy().tolist()}
    return {"1 record": {"modelops": json.dumps({"features": one}),
                         "mlflow": json.dumps({"dataframe_records": [one]})},
            "100 records": {"modelops": json.dumps(split),
                            "mlflow": json.dumps({"dataframe_split": split})}}


def in_process(model: Any, x: Any, store: str) -> dict[str, float]:
    from modelops_serve import app

    import modelops

    row = x.head(1)

    def median_us(fn: Any, n: int = 2_000) -> float:
        for _ in range(200):
            fn()
        times = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return statistics.median(times) * 1e6

    ops = modelops.connect(store)
    server = app(ops, "bench").state.server
    body = {"features": row.to_dict(orient="records")[0]}
    twin = server.deployment.lineup.champion.twin
    values = row.to_numpy()
    out = {"model.predict (1 row), us": median_us(lambda: model.predict(row)),
           "model.predict + predict_proba (1 row), us":
               median_us(lambda: (model.predict(row), model.predict_proba(row))),
           "array twin's predict_proba (1 row), us":
               median_us(lambda: twin.model.predict_proba(values)) if twin is not None else
               float("nan"),
           "server.predict without HTTP (1 record, logged), us":
               median_us(lambda: server.predict(body, None))}
    server.close()
    ops.close()
    return out


SERVERS = ("modelops", "modelops --no-log", "mlflow")


def start(name: str, store: str, mlflow_dir: str) -> tuple[subprocess.Popen, str]:
    """A server started and ready; its prediction URL."""
    port = free_port()
    if name == "mlflow":
        process = start_mlflow(mlflow_dir, port)
        ready, url = f"http://127.0.0.1:{port}/ping", f"http://127.0.0.1:{port}/invocations"
    else:
        process = start_modelops(store, port, log=name == "modelops")
        ready, url = f"http://127.0.0.1:{port}/ready", f"http://127.0.0.1:{port}/predict"
    try:
        wait_ready(ready, process)
    except BaseException:
        stop(process)
        raise
    return process, url


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The rounds of one server and payload: medians of the rates and latencies, every
    request and error summed."""
    return {"rps": statistics.median(r["rps"] for r in runs),
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs),
            "requests": sum(r["requests"] for r in runs),
            "non_2xx": sum(r["non_2xx"] for r in runs),
            "socket_errors": "; ".join(r["socket_errors"] for r in runs if r["socket_errors"]),
            "rounds": [r["rps"] for r in runs]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 s per wrk run, one round")
    parser.add_argument("--seconds", type=int, help="seconds per wrk run (default 10)")
    parser.add_argument("--rounds", type=int,
                        help="rounds in which the servers take turns (default 3)")
    parser.add_argument("--json", help="write every figure to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    add_scale_option(parser)
    args = parser.parse_args()
    if stops_for_scale(parser, args):
        return 0
    if shutil.which("wrk") is None:
        print("bench_serve: wrk is not installed (Debian: apt-get install -y wrk); skipped")
        return 0
    seconds = args.seconds or (5 if args.quick else 10)
    rounds = args.rounds or (1 if args.quick else 3)
    workdir = tempfile.mkdtemp(prefix="bench-serve-")
    results: dict[str, Any] = {"seconds": seconds, "rounds": rounds}
    processes: dict[str, subprocess.Popen] = {}
    try:
        model, x, store, mlflow_dir = make_model(workdir)
        results["in_process"] = in_process(model, x, store)
        payloads = bodies(x)
        urls = {}
        for name in SERVERS:
            processes[name], urls[name] = start(name, store, mlflow_dir)
        runs: dict[str, list[dict[str, Any]]] = {}
        # The servers take turns, round after round: a slow moment of the shared machine
        # falls on one round of each, not on one server.
        for round_ in range(rounds):
            for size, body in payloads.items():
                for name in SERVERS:
                    side = "mlflow" if name == "mlflow" else "modelops"
                    if round_ == 0:
                        run_wrk(urls[name], body[side], 2, workdir)          # warm-up
                    runs.setdefault(f"{name} | {size}", []).append(
                        run_wrk(urls[name], body[side], seconds, workdir))
        for key, measured in runs.items():
            results[key] = median_run(measured)
        stop(processes.pop("modelops"))   # SIGINT: its loggers flush
        import modelops

        logged = len(modelops.connect(store).predictions.read("bench"))
        answered = sum(results[f"modelops | {size}"]["requests"] * (1 if size == "1 record"
                                                                      else 100)
                       for size in payloads)
        results["logged predictions"] = logged
        results["answered predictions (wrk, timed runs)"] = answered
    finally:
        for process in processes.values():
            stop(process)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    report(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


def report(results: dict[str, Any]) -> None:
    print(f"\nmodelops serve vs mlflow models serve: wrk -t2 -c8 -d{results['seconds']}s, "
          f"one worker each, 127.0.0.1; medians of {results['rounds']} rounds taken in turn\n")
    print(f"{'server':<20}{'payload':<14}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}"
          "   req/s by round")
    for key, value in results.items():
        if " | " in key:
            server, size = key.split(" | ")
            print(f"{server:<20}{size:<14}{value['rps']:>9.0f}{value['p50_ms']:>9.2f}"
                  f"{value['p99_ms']:>9.2f}{value['non_2xx']:>9}   "
                  + " ".join(f"{r:.0f}" for r in value["rounds"]))
    print()
    for size in ("1 record", "100 records"):
        ours, bare, theirs = (results[f"{n} | {size}"] for n in
                              ("modelops", "modelops --no-log", "mlflow"))
        ratio = ours["rps"] / theirs["rps"]
        ok = ratio >= TARGET_RPS_RATIO and ours["p99_ms"] <= theirs["p99_ms"]
        print(f"{size}: modelops (every prediction logged) ÷ MLflow req/s = {ratio:.2f}× "
              f"(target ≥ {TARGET_RPS_RATIO:g}× at equal or lower p99: {ours['p99_ms']:.1f} "
              f"vs {theirs['p99_ms']:.1f} ms) {'PASS' if ok else 'FAIL'}")
        cost = 1 - ours["rps"] / bare["rps"]
        print(f"{size}: logging costs {cost:.1%} of the served rate "
              f"(target ≤ {TARGET_LOGGING_COST:.0%}) "
              f"{'PASS' if cost <= TARGET_LOGGING_COST else 'FAIL'}")
    print(f"\nlogged predictions read back: {results['logged predictions']:,} "
          f"(wrk answered {results['answered predictions (wrk, timed runs)']:,} in the timed "
          "runs; the warm-ups add theirs)")
    print("\nin process:")
    for key, value in results["in_process"].items():
        print(f"  {key}: {value:.0f}")


if __name__ == "__main__":
    sys.exit(main())
