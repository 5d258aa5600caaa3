"""modelops serve: a registered model behind HTTP, every prediction logged.

    pip install modelops-serve

    modelops serve models:/fraud@production --host 127.0.0.1 --port 8080

or, inside your own ASGI service::

    import modelops
    from modelops_serve import app

    ops = modelops.connect("s3://ml/modelops")
    api = app(ops, model="fraud")            # follows @production
    # Starlette: Mount("/fraud", app=api); FastAPI: main.mount("/fraud", api)

Endpoints: ``POST /predict``, ``POST /feedback``, ``GET /health``, ``/ready``, ``/live``,
``/metrics``, ``/version``, ``/openapi.json``. See ``docs/serving.md``.
"""

from typing import Any

__all__ = ["Deployment", "ModelServer", "app", "model_uri"]

# The app lives in modelops_serve.server, so that modelops_serve.app stays the function.
_HOMES = {"ModelServer": "modelops_serve.server", "app": "modelops_serve.server",
          "Deployment": "modelops_serve.deployment", "model_uri": "modelops_serve.deployment"}


def __getattr__(name: str) -> Any:
    # Starlette loads on first use: modelops loads this package's plugin module (the CLI
    # command) with every plugin, and must stay quick to import.
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'modelops_serve' has no attribute {name!r}")
