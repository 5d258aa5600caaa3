"""The app factory uvicorn's workers call (``modelops serve``): options from the
environment, a client of its own per worker process."""

from __future__ import annotations

import json
import os
from typing import Any

from modelops_serve.plugin import OPTIONS_VARIABLE


def create() -> Any:
    """The app ``modelops serve`` configured (``$MODELOPS_SERVE_OPTIONS``)."""
    import modelops
    from modelops_serve.server import app

    options = json.loads(os.environ[OPTIONS_VARIABLE])
    uri = options.pop("uri")
    model = options.pop("model")
    ops = modelops.connect(uri)
    return app(ops, model, **options)
