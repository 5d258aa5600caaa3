"""Hot reload: the server follows the stage it was started with, with no failed request."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time

import httpx
from modelops_serve import app
from serve_support import child_env, register, serving

ROW = {"amount": 70.0, "items": 2, "country": "fr"}


def _loop(url: str, seen: list, stop: threading.Event) -> None:
    with httpx.Client(base_url=url) as client:
        while not stop.is_set():
            try:
                response = client.post("/predict", json={"features": ROW})
                seen.append((response.status_code, response.json().get("version")))
            except httpx.HTTPError as exc:   # counted as a failure, never raised away
                seen.append((type(exc).__name__, None))


def test_a_promotion_is_served_without_a_restart_or_a_failed_request(store, caplog):
    application = app(store, "fraud", poll_interval=0.05)
    seen: list = []
    stop = threading.Event()
    caplog.set_level(logging.INFO, logger="modelops.serve")
    with serving(application) as url:
        loops = [threading.Thread(target=_loop, args=(url, seen, stop)) for _ in range(2)]
        for t in loops:
            t.start()
        time.sleep(0.3)
        new = register(store, c=0.01)                    # 1.0.1 takes production
        deadline = time.monotonic() + 60       # generous: a loaded machine is slow
        while not any(v == new.version for _, v in seen[-5:]):
            assert time.monotonic() < deadline, "the new version was never served"
            time.sleep(0.05)
        time.sleep(0.2)
        store.registry.rollback("fraud")                 # back to 1.0.0
        deadline = time.monotonic() + 60
        while seen[-1][1] != "1.0.0":
            assert time.monotonic() < deadline, "the rollback was never served"
            time.sleep(0.05)
        time.sleep(0.2)
        stop.set()
        for t in loops:
            t.join()
        info = httpx.get(f"{url}/version").json()
        metrics = httpx.get(f"{url}/metrics").text
    failed = [s for s, _ in seen if s != 200]
    assert not failed and len(seen) > 10
    versions = [v for _, v in seen]
    assert {"1.0.0", new.version} == set(versions)
    assert info["version"] == "1.0.0" and info["reloads"] == 2
    assert 'modelops_serve_reloads_total{model="fraud"} 2.0' in metrics
    switches = [r.getMessage() for r in caplog.records if "now serves" in r.getMessage()]
    assert len(switches) == 2 and f"now serves {new.version}" in switches[0]


def test_a_fixed_version_is_not_followed(store):
    application = app(store, "fraud", "1.0.0", poll_interval=0.05)
    with serving(application) as url:
        register(store)
        time.sleep(0.3)
        response = httpx.post(f"{url}/predict", json={"features": ROW}).json()
    assert response["version"] == "1.0.0"
    assert application.state.server.deployment.reloads == 0


def test_a_registry_that_fails_to_answer_keeps_the_loaded_version(store, monkeypatch):
    application = app(store, "fraud", poll_interval=0.05)
    deployment = application.state.server.deployment

    def down(uri):
        raise OSError("the store is down")

    with serving(application) as url:
        monkeypatch.setattr(store.registry, "resolve", down)
        time.sleep(0.3)
        response = httpx.post(f"{url}/predict", json={"features": ROW})
    assert response.status_code == 200 and response.json()["version"] == "1.0.0"
    assert "the store is down" in deployment.last_error


def test_a_busy_worker_still_follows_a_promotion(store, tmp_path):
    """A worker kept busy answering requests, without a pause, still follows a promotion
    at its polling pace: a model called with a DataFrame lets go of the GIL only for
    moments, which can keep the registry's poller waiting for it, and requests hand it over
    when the poller is late. (Bounded generously: loading the new version on a loaded
    machine takes its time.)"""
    new = register(store, c=0.01, stage=None)
    # Without logging: the prediction logger's writer hands over the GIL on its own turns.
    server = app(store, "fraud", poll_interval=0.1, log_predictions=False).state.server
    server.deployment.start()
    code = (f"import modelops; modelops.connect({str(tmp_path / 'store')!r}).registry"
            f".promote('fraud', {new.version!r}, stage='production')")
    promoter = subprocess.Popen([sys.executable, "-c", code], env=child_env())
    promoted = switched = None
    start = time.monotonic()
    try:
        while switched is None and time.monotonic() - start < 60:
            content, _, _ = server.predict({"features": ROW}, None)
            if promoted is None and promoter.poll() is not None:
                promoted = time.monotonic()
            if content["version"] == new.version:
                switched = time.monotonic()
    finally:
        server.close()
    assert promoter.wait() == 0 and switched is not None
    # The promoting process may be seen to exit only after its promotion was served.
    assert switched - (promoted if promoted is not None else switched) < 5.0
