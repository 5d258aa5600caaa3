"""The plugin manager: built-in backends, then the ``modelops`` entry points.

Entry-point plugins load on the first ``connect()``, not at ``import modelops``. The
``MODELOPS_PLUGINS`` environment variable chooses which entry-point plugins load, so a test
run is deterministic: unset loads all; empty (or ``none``) loads none; ``a,b`` loads only the
entry points named ``a`` and ``b``. Built-in backends always load.
"""

from __future__ import annotations

import importlib
import os
import threading
import warnings
from importlib.metadata import entry_points
from typing import Any

import pluggy

from modelops import hookspecs
from modelops.errors import UnknownScheme

ENV_PLUGINS = "MODELOPS_PLUGINS"
ENTRY_POINT_GROUP = "modelops"

#: Built-in plugins, registered exactly like third-party ones.
BUILTIN_PLUGINS = ("modelops.backends.layout.plugin", "modelops.registry.flavors",
                   "modelops.drift.methods", "modelops.metrics.builtin",
                   "modelops.estimation.builtin")

#: Schemes served by plugins that are installed separately: scheme prefix -> package.
KNOWN_PLUGIN_SCHEMES = {
    "s3": "modelops-s3",
    "s3a": "modelops-s3",
    "mlflow+": "modelops-mlflow",
}

_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None


def plugin_manager() -> pluggy.PluginManager:
    """The process's plugin manager, made and loaded on first use."""
    global _manager
    with _lock:
        if _manager is None:
            pm = pluggy.PluginManager(hookspecs.PROJECT)
            pm.add_hookspecs(hookspecs)
            for name in BUILTIN_PLUGINS:
                pm.register(importlib.import_module(name), name=name)
            _load_entry_points(pm)
            _manager = pm
        return _manager


def reset() -> None:
    """Forget the plugin manager; the next use loads plugins again (for tests)."""
    global _manager
    with _lock:
        _manager = None


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    wanted = os.environ.get(ENV_PLUGINS)
    if wanted is not None:
        names = {n.strip() for n in wanted.split(",") if n.strip() and n.strip() != "none"}
        if not names:
            return
    else:
        names = None
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if names is not None and ep.name not in names:
            continue
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            pm.register(ep.load(), name=ep.name)
        except Exception as exc:  # a broken plugin must not break every connect()
            warnings.warn(f"modelops plugin {ep.name!r} failed to load: {exc!r}",
                          stacklevel=2)


def available_schemes() -> list[str]:
    """Every scheme the loaded plugins serve, sorted."""
    schemes: set[str] = set()
    for found in plugin_manager().hook.modelops_schemes():
        schemes.update(found or ())
    return sorted(schemes)


def unknown_scheme(scheme: str) -> UnknownScheme:
    """The error for a scheme no plugin serves: what is available, and what to install."""
    hint = ""
    for prefix, package in KNOWN_PLUGIN_SCHEMES.items():
        if scheme == prefix or (prefix.endswith("+") and scheme.startswith(prefix)):
            hint = f"; {scheme}:// URIs are served by the {package} plugin: pip install {package}"
            break
    available = ", ".join(f"{s}://" for s in available_schemes())
    return UnknownScheme(f"no installed plugin serves {scheme}:// URIs (available: "
                         f"{available}; plain paths are local){hint}")


def emit(hook_name: str, /, **kwargs: Any) -> None:
    """Call an event hook on every plugin; a failing plugin is reported, not raised."""
    hook = getattr(plugin_manager().hook, hook_name)
    for impl in reversed(hook.get_hookimpls()):
        try:
            impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
        except Exception as exc:
            warnings.warn(f"modelops plugin {impl.plugin_name!r} failed in {hook_name}: {exc!r}",
                          stacklevel=2)
