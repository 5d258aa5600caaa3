"""Champion/challenger: a share of request keys, sticky, by the router's hashing."""

from __future__ import annotations

import threading

import httpx
import pytest
from modelops_serve import app
from serve_support import register_fast, serving

ROW = {"amount": 70.0, "items": 2}
KEYS = 10_000


@pytest.fixture
def routed(store):
    register_fast(store)
    register_fast(store, c=0.01, stage="staging")          # 1.0.1 in staging
    application = app(store, "fast", challenger="staging", share=0.1)
    with serving(application) as url:
        yield url, application


def test_the_challenger_gets_its_share_of_keys_within_one_point(routed):
    url, application = routed
    routes: dict[int, str] = {}

    def send(part: range) -> None:
        with httpx.Client(base_url=url) as client:
            for i in part:
                body = client.post("/predict", json={"features": ROW, "key": f"user-{i}"})
                routes[i] = body.json()["route"]

    parts = [range(k, KEYS, 4) for k in range(4)]
    threads = [threading.Thread(target=send, args=(p,)) for p in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    share = sum(r == "challenger" for r in routes.values()) / KEYS
    assert len(routes) == KEYS and abs(share - 0.1) <= 0.01
    router = application.state.server.deployment.lineup.router
    assert all(router.assign(f"user-{i}").role == routes[i] for i in range(0, KEYS, 97))


def test_routing_is_sticky_by_header_or_field_and_logged_with_its_route(store, routed):
    url, application = routed
    with httpx.Client(base_url=url) as client:
        by_field = [client.post("/predict", json={"features": ROW, "key": "acct-7"}).json()
                    for _ in range(3)]
        by_header = [client.post("/predict", json={"features": ROW},
                                 headers={"X-Request-Key": "acct-7"}).json() for _ in range(3)]
        info = client.get("/version").json()
    assert len({(r["route"], r["version"]) for r in by_field + by_header}) == 1
    assert info["challenger"]["version"] == "1.0.1" and info["challenger"]["share"] == 0.1
    server = application.state.server
    for version in ("1.0.0", "1.0.1"):
        server.logger(version).flush()
    chosen = by_field[0]
    logged = store.predictions.read("fast", version=chosen["version"])
    row = logged.ids.tolist().index(chosen["id"])
    assert logged.metadata[row]["route"] == chosen["route"]
    assert logged.metadata[row]["router"] == server.deployment.lineup.router.salt
