"""A worker killed mid-load loses no acknowledged prediction.

``modelops serve --durable --workers 2`` runs under uvicorn's supervisor; clients keep
predicting while one worker process gets SIGKILL, and then every process does (no shutdown,
no flush at exit). Every prediction whose response said ``"logged": "stored"`` must be in the
store; a request the killed worker was answering gets no response (a connection error), so
it was never acknowledged.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
from serve_support import child_env, free_port, register_fast

import modelops

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32",
                                                   reason="SIGKILL and /proc: POSIX only")]

ROW = {"amount": 70.0, "items": 2}


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def _wait_ready(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server never became ready")


def test_sigkill_of_a_worker_loses_no_acknowledged_prediction(tmp_path):
    ops = modelops.connect(tmp_path / "store")
    register_fast(ops)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    code = "import sys; from modelops.cli import main; sys.exit(main())"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "--uri", str(tmp_path / "store"), "serve",
         "models:/fast@production", "--port", str(port), "--workers", "2", "--durable",
         "--log-level", "warning"],
        env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)
    acknowledged: list[str] = []
    queued: list[str] = []
    unanswered = [0]
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            while not stop.is_set():
                try:
                    body = client.post("/predict", json={"features": ROW}).json()
                except httpx.HTTPError:
                    unanswered[0] += 1
                    continue
                (acknowledged if body["logged"] == "stored" else queued).append(body["id"])

    try:
        _wait_ready(url, process)
        workers = _children(process.pid)
        assert len(workers) >= 2
        clients = [threading.Thread(target=load) for _ in range(4)]
        for t in clients:
            t.start()
        time.sleep(1.5)
        os.kill(workers[0], signal.SIGKILL)                 # one worker, mid-load
        time.sleep(1.5)
        os.killpg(process.pid, signal.SIGKILL)              # then everything, at once
        stop.set()
        for t in clients:
            t.join()
    finally:
        stop.set()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        process.stderr.close()
    stored = set(modelops.connect(tmp_path / "store").predictions.read("fast").ids.tolist())
    assert len(acknowledged) > 50
    lost = [i for i in acknowledged if i not in stored]
    assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged predictions were lost"
