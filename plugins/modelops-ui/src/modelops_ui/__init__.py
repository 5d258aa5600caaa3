"""modelops-ui: a web UI over any modelops store — runs, compare, models and their history,
drift reports and health — served by ``modelops ui`` or mounted as an ASGI app.

    import modelops, modelops_ui, uvicorn

    uvicorn.run(modelops_ui.app(modelops.connect("./.modelops")), host="127.0.0.1", port=5050)
"""

from typing import Any

__all__ = ["app"]


def __getattr__(name: str) -> Any:
    # Starlette and Jinja2 load on first use: modelops loads this package's plugin module
    # (the CLI command) with every plugin, and must stay quick to import.
    if name == "app":
        from modelops_ui.pages import app

        return app
    raise AttributeError(f"module 'modelops_ui' has no attribute {name!r}")
