"""Helpers of the serve tests: a trained model in a store, and a real uvicorn server on
127.0.0.1 to talk HTTP to. (A module of its own, not conftest: the core's tests have a
conftest module too, and the whole suite imports one of them as ``conftest``.)"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import uvicorn
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import modelops


def frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Fraud-like data: a number, a count and a country (categorical)."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"amount": rng.normal(50, 20, n), "items": rng.integers(1, 6, n),
                      "country": rng.choice(["fr", "de", "es"], n)})
    y = ((x["amount"] > 55) ^ (x["country"] == "es")).astype(int).to_numpy()
    return x, y


def pipeline(c: float = 1.0) -> Any:
    """A pipeline that selects its columns by name: it needs a DataFrame in training order."""
    return make_pipeline(
        make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["country"]),
                                (StandardScaler(), ["amount", "items"])),
        LogisticRegression(C=c))


def register(ops: Any, c: float = 1.0, stage: str | None = "production") -> Any:
    x, y = frame()
    model = pipeline(c).fit(x, y)
    version = ops.registry.register("fraud", model, input_example=x.head(3),
                                    signature=modelops.infer_signature(x))
    if stage is not None:
        ops.registry.promote("fraud", version.version, stage=stage)
    return version


def register_fast(ops: Any, c: float = 1.0, stage: str | None = "production") -> Any:
    """A model fitted on an unnamed array of two numbers: microseconds per prediction, for
    tests that send thousands of requests. Its signature names the columns."""
    x, y = frame()
    numbers = x[["amount", "items"]]
    model = LogisticRegression(C=c).fit(numbers.to_numpy(), y)
    version = ops.registry.register("fast", model, input_example=numbers.head(1),
                                    signature=modelops.infer_signature(numbers))
    if stage is not None:
        ops.registry.promote("fast", version.version, stage=stage)
    return version


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(asgi: Any) -> Iterator[str]:
    """Run ``asgi`` with uvicorn on 127.0.0.1 (a free port) in a thread; yield its URL."""
    port = free_port()
    config = uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="warning",
                            access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a child process that imports this checkout's packages."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env.update(extra)
    return env
