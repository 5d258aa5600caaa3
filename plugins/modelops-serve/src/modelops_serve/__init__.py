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

from modelops_serve.app import ModelServer, app
from modelops_serve.deployment import Deployment, model_uri

__all__ = ["Deployment", "ModelServer", "app", "model_uri"]
