"""``modelops ui`` against ``mlflow ui`` over the same 10,000 runs.

Prints a table::

    figure | modelops ui | mlflow ui | ratio (mlflow / modelops) | target

Usage::

    python benchmarks/bench_ui.py            # 10,000 runs
    python benchmarks/bench_ui.py --quick    # 1,000 runs, fewer rounds

Needs ``modelops``, ``modelops-ui``, ``modelops-mlflow``, ``mlflow`` and Debian's Chromium
(``/usr/bin/chromium``, driven by Playwright; no browser is downloaded).

The work:

- 10,000 runs are logged into a local modelops store (one experiment; each run 5 params,
  5 metrics), then copied with ``modelops store copy`` into an MLflow sqlite store, so both
  UIs show the same runs.
- ``modelops ui`` (uvicorn, one process) and ``mlflow ui`` (its own server, ``--workers 1``)
  serve them on 127.0.0.1.
- **server time, runs page**: one GET of the runs page of the experiment (modelops: the HTML
  page of the first 50 runs, newest first, with the chosen columns; MLflow: its
  ``runs/search`` API call for the first page as its UI makes it, 50 runs newest first — its
  page itself is a static bundle that calls this API), median of the rounds after a warm-up.
- **server time, run page**: one GET of a run's page (modelops: the HTML page; MLflow: the
  ``runs/get`` API call its run page makes first).
- **first row in Chromium**: a fresh browser page navigates to the runs page, timed until
  the first row of the runs table is in the DOM (modelops: ``#runs tbody tr``; MLflow: the
  first link to a run in its table), median of the rounds, each in a new browser context (no
  cache). MLflow's page is ``#/experiments/<id>/runs?workflowType=machine_learning``.

Rounds alternate between the two UIs so a busy machine slows both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from no_scaling import add_scale_option, stops_for_scale

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
EXPERIMENT = "bench-ui"
TARGET = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def populate(uri: str, n: int) -> None:
    import random

    import modelops

    rng = random.Random(0)
    ops = modelops.connect(uri)
    for i in range(n):
        with ops.tracking.start_run(experiment=EXPERIMENT, name=f"run-{i:05d}") as run:
            run.log_params({f"p{k}": rng.randrange(10) for k in range(5)})
            run.log_metrics({f"m{k}": rng.random() for k in range(5)})
    ops.close()


def wait_for(url: str, process: subprocess.Popen[bytes] | None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                response.read()
            return
        except OSError:
            if time.monotonic() > deadline or (process is not None and process.poll()
                                               is not None):
                raise RuntimeError(f"{url} did not answer") from None
            time.sleep(0.2)


def timed_get(url: str, body: bytes | None = None) -> float:
    request = urllib.request.Request(url, data=body, headers={
        "Content-Type": "application/json"} if body else {})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return time.perf_counter() - started


def serve_modelops(uri: str) -> tuple[object, str]:
    import uvicorn
    from modelops_ui import app

    import modelops

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app(modelops.connect(uri)), host="127.0.0.1",
                                           port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{port}"


def first_row(browser: object, url: str, selector: str | None, script: str | None) -> float:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    if selector is not None:
        page.wait_for_selector(selector, timeout=60_000)
    else:
        page.wait_for_function(script, timeout=60_000, polling="raf")
    elapsed = time.perf_counter() - started
    context.close()
    return elapsed


# The first link to a run in MLflow's runs table (an href ending in a 32-hex run id).
MLFLOW_ROW = """() => Array.from(document.querySelectorAll('a[href*="/runs/"]'))
    .some(a => /\\/runs\\/[0-9a-f]{32}$/.test(a.getAttribute('href') || ''))"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 runs, 3 rounds")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--json", help="also write the figures as JSON to this path")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    add_scale_option(parser)
    args = parser.parse_args(argv)
    if stops_for_scale(parser, args):
        return
    n = args.runs or (1_000 if args.quick else 10_000)
    rounds = args.rounds or (3 if args.quick else 7)
    if not os.path.exists(CHROMIUM):
        sys.exit("needs Chromium: apt-get install -y chromium")

    from playwright.sync_api import sync_playwright

    import modelops

    tmp = tempfile.mkdtemp(prefix="bench-ui-")
    mlflow_process = None
    try:
        local = os.path.join(tmp, "modelops")
        started = time.perf_counter()
        populate(local, n)
        print(f"logged {n:,} runs in {time.perf_counter() - started:.1f} s", flush=True)
        mlflow_db = os.path.join(tmp, "mlflow.db")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import sys; from modelops.cli import main; "
                        "sys.exit(main())", "store", "copy", local,
                        f"mlflow+sqlite:///{mlflow_db}", "--only", "tracking", "--quiet"],
                       check=True, cwd=tmp)
        print(f"copied them to MLflow in {time.perf_counter() - started:.1f} s", flush=True)

        ops = modelops.connect(local)
        experiment = ops.tracking.get_experiment(EXPERIMENT).experiment_id
        newest = ops.tracking.search_runs(EXPERIMENT, max_results=1)[0]
        import mlflow

        client = mlflow.MlflowClient(f"sqlite:///{mlflow_db}")
        mlflow_experiment = client.get_experiment_by_name(EXPERIMENT).experiment_id
        mlflow_run = client.search_runs([mlflow_experiment], max_results=1,
                                        order_by=["attributes.start_time DESC"])[0].info.run_id

        server, ui_url = serve_modelops(local)
        port = free_port()
        mlflow_process = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri",
             f"sqlite:///{mlflow_db}", "--default-artifact-root", os.path.join(tmp, "art"),
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
        mlflow_url = f"http://127.0.0.1:{port}"
        wait_for(mlflow_url + "/health", mlflow_process)

        runs_page = (f"{ui_url}/experiments/{experiment}?cols=metrics.m0&cols=metrics.m1"
                     "&cols=params.p0")
        run_page = f"{ui_url}/runs/{newest.run_id}"
        search_body = json.dumps({"experiment_ids": [mlflow_experiment], "max_results": 50,
                                  "order_by": ["attributes.start_time DESC"],
                                  "run_view_type": "ACTIVE_ONLY"}).encode()
        mlflow_search = f"{mlflow_url}/ajax-api/2.0/mlflow/runs/search"
        mlflow_get = f"{mlflow_url}/ajax-api/2.0/mlflow/runs/get?run_id={mlflow_run}"
        mlflow_page = (f"{mlflow_url}/#/experiments/{mlflow_experiment}/runs"
                       "?workflowType=machine_learning")

        figures: dict[str, tuple[list[float], list[float]]] = {
            "server time, runs page": ([], []), "server time, run page": ([], []),
            "first row in Chromium": ([], [])}
        # warm-ups: each server's first request, each page once
        timed_get(runs_page), timed_get(run_page), timed_get(mlflow_search, search_body)
        timed_get(mlflow_get)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            first_row(browser, runs_page, "#runs tbody tr", None)
            first_row(browser, mlflow_page, None, MLFLOW_ROW)
            for _ in range(rounds):
                figures["server time, runs page"][0].append(timed_get(runs_page))
                figures["server time, runs page"][1].append(timed_get(mlflow_search,
                                                                      search_body))
                figures["server time, run page"][0].append(timed_get(run_page))
                figures["server time, run page"][1].append(timed_get(mlflow_get))
                figures["first row in Chromium"][0].append(
                    first_row(browser, runs_page, "#runs tbody tr", None))
                figures["first row in Chromium"][1].append(
                    first_row(browser, mlflow_page, None, MLFLOW_ROW))
            browser.close()
        server.should_exit = True  # type: ignore[attr-defined]

        print(f"\n{n:,} runs, median of {rounds} rounds\n")
        print(f"{'figure':<26} {'modelops ui':>12} {'mlflow ui':>12} {'ratio':>8} "
              f"{'target':>8}")
        out = {}
        for name, (ours, theirs) in figures.items():
            a, b = statistics.median(ours), statistics.median(theirs)
            target = f"≥ {TARGET:g}×" if name == "first row in Chromium" else ""
            verdict = ("PASS" if b / a >= TARGET else "FAIL") if target else ""
            print(f"{name:<26} {a * 1000:>9.1f} ms {b * 1000:>9.1f} ms {b / a:>7.1f}× "
                  f"{target:>8} {verdict}")
            out[name] = {"modelops_ms": [x * 1000 for x in ours],
                         "mlflow_ms": [x * 1000 for x in theirs], "ratio": b / a}
        print("\nMLflow's server figures are its JSON API calls (its pages are a static bundle "
              "that makes them); modelops' are whole HTML pages.")
        if args.json:
            Path(args.json).write_text(json.dumps({"runs": n, "rounds": rounds,
                                                   "figures": out}, indent=2))
    finally:
        if mlflow_process is not None:
            mlflow_process.terminate()
            mlflow_process.wait(20)
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
