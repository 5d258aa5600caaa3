"""The plugin manager: built-in backends, then the ``modelops`` entry points.

Entry-point plugins load when they are first needed, never at ``import modelops``. A plugin
that serves URI schemes says which in the ``modelops.schemes`` entry-point group (each entry
named by a scheme, its value the plugin's own entry-point value), so ``connect()`` imports
only the plugin of the scheme it opens. A plugin says which hooks it implements the same way,
in the ``modelops.hooks`` group, so an event emitted or a table of drift methods, flavors,
metrics or health checks looked up (``hook(name)``) imports only the plugins implementing that
hook. A plugin that declares no schemes is loaded by ``connect()`` only when no built-in or
declared plugin serves the scheme; one that declares no hooks may implement any, and is
loaded by every hook. ``plugin_manager()`` loads every selected plugin (the CLI's list).

The ``MODELOPS_PLUGINS`` environment variable chooses which entry-point plugins load, so a
test run is deterministic: unset loads all; empty (or ``none``) loads none; ``a,b`` loads only
the entry points named ``a`` and ``b``. Built-in backends always load.
"""

from __future__ import annotations

import importlib
import os
import threading
import warnings
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

import pluggy

from modelops import hookspecs
from modelops.errors import UnknownScheme

if TYPE_CHECKING:
    from modelops.uri import StoreURI

ENV_PLUGINS = "MODELOPS_PLUGINS"
ENTRY_POINT_GROUP = "modelops"
#: Entry points named by a scheme, valued as the plugin that serves it.
SCHEMES_GROUP = "modelops.schemes"
#: Entry points named by a hook, valued as the plugin that implements it.
HOOKS_GROUP = "modelops.hooks"

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

_lock = threading.RLock()
_manager: pluggy.PluginManager | None = None
#: The selected entry-point plugins not loaded yet, by name.
_pending: dict[str, EntryPoint] = {}
#: Scheme -> the values of the entry points declared to serve it.
_declared: dict[str, set[str]] = {}
#: Hook name -> the values of the entry points declared to implement it.
_implementing: dict[str, set[str]] = {}
_builtin_schemes: frozenset[str] = frozenset()


def _base() -> pluggy.PluginManager:
    """The manager with the built-ins, made on first use; entry points noted, not loaded.
    Called under ``_lock``."""
    global _manager, _builtin_schemes
    if _manager is None:
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        for name in BUILTIN_PLUGINS:
            pm.register(importlib.import_module(name), name=name)
        _builtin_schemes = frozenset(s for found in pm.hook.modelops_schemes() for s in found)
        found = entry_points()  # one scan of the installed packages for both groups
        _pending.clear()
        _pending.update((ep.name, ep) for ep in _selected(found.select(group=ENTRY_POINT_GROUP)))
        for table, group in ((_declared, SCHEMES_GROUP), (_implementing, HOOKS_GROUP)):
            table.clear()
            for ep in found.select(group=group):
                table.setdefault(ep.name, set()).add(ep.value)
        _manager = pm
    return _manager


def manager() -> pluggy.PluginManager:
    """The process's plugin manager as it stands: the built-ins and the entry-point plugins
    loaded so far (for registering a plugin object without loading the others)."""
    with _lock:
        return _base()


def plugin_manager() -> pluggy.PluginManager:
    """The process's plugin manager with every selected plugin loaded (on first use)."""
    with _lock:
        pm = _base()
        if _pending:
            _load(pm, list(_pending.values()))
        return pm


def hook(name: str) -> pluggy.HookCaller:
    """The hook ``name`` (one of ``hookspecs``) with the plugins that may implement it loaded:
    those declaring it in the ``modelops.hooks`` group, and those that declare no hooks.
    Plugins declaring other hooks only stay unimported."""
    with _lock:
        pm = _base()
        if _pending:
            declaring = set().union(*_implementing.values()) if _implementing else set()
            wanted = _implementing.get(name, set())
            _load(pm, [ep for ep in _pending.values()
                       if ep.value in wanted or ep.value not in declaring])
        return getattr(pm.hook, name)


def store_plugin_manager(scheme: str) -> pluggy.PluginManager:
    """The plugin manager with what serves ``scheme`` loaded: the built-ins and the plugins
    declared to serve it (else those that declare no schemes); other plugins wait until
    one of their hooks is used."""
    with _lock:
        pm = _base()
        if _pending:
            serving = set().union(*(plugins for declared, plugins in _declared.items()
                                    if _serving(scheme, declared)))
            wanted = [ep for ep in _pending.values() if ep.value in serving]
            if not serving and scheme not in _builtin_schemes:
                declaring = set().union(*_declared.values()) if _declared else set()
                wanted = [ep for ep in _pending.values() if ep.value not in declaring]
            _load(pm, wanted)
        return pm


def reset() -> None:
    """Forget the plugin manager; the next use loads plugins again (for tests)."""
    global _manager
    with _lock:
        _manager = None
        _pending.clear()


def _selected(found: Iterable[EntryPoint]) -> list[EntryPoint]:
    """The entry-point plugins ``MODELOPS_PLUGINS`` selects of those ``found``."""
    wanted = os.environ.get(ENV_PLUGINS)
    if wanted is None:
        return list(found)
    names = {n.strip() for n in wanted.split(",") if n.strip() and n.strip() != "none"}
    return [ep for ep in found if ep.name in names]


def _load(pm: pluggy.PluginManager, eps: list[EntryPoint]) -> None:
    for ep in eps:
        _pending.pop(ep.name, None)
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            pm.register(ep.load(), name=ep.name)
        except Exception as exc:  # a broken plugin must not break every connect()
            warnings.warn(f"modelops plugin {ep.name!r} failed to load: {exc!r}",
                          stacklevel=3)


def available_schemes() -> list[str]:
    """Every scheme the loaded plugins serve, sorted."""
    schemes: set[str] = set()
    for found in hook("modelops_schemes")():
        schemes.update(found or ())
    return sorted(schemes)


def serves(scheme: str) -> bool:
    """Whether a plugin serves ``scheme`` (loading only what ``connect()`` would load)."""
    return any(_serving(scheme, declared)
               for found in store_plugin_manager(scheme).hook.modelops_schemes()
               for declared in found or ())


def _serving(scheme: str, declared: str) -> bool:
    """Whether a plugin declaring the scheme ``declared`` serves ``scheme``: that one, and
    its variants naming a driver, SQLAlchemy's way (``mlflow+postgresql`` also serves
    ``mlflow+postgresql+psycopg``)."""
    return scheme == declared or scheme.startswith(declared + "+")


_FACTORY_HOOKS = {
    "tracking": "modelops_tracking_store",
    "registry": "modelops_registry_store",
    "drift": "modelops_drift_store",
    "predictions": "modelops_prediction_store",
}


def open_store(kind: str, uri: StoreURI) -> Any | None:
    """Ask the plugins for a store of ``kind`` at ``uri``; None if the scheme is served but
    not for this kind. ``UnknownScheme`` if no plugin serves the scheme at all."""
    factory = getattr(store_plugin_manager(uri.scheme).hook, _FACTORY_HOOKS[kind])
    store = factory(uri=uri)
    if store is None and not serves(uri.scheme):
        raise unknown_scheme(uri.scheme)
    return store


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
    for impl in reversed(hook(hook_name).get_hookimpls()):
        try:
            impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
        except Exception as exc:
            warnings.warn(f"modelops plugin {impl.plugin_name!r} failed in {hook_name}: {exc!r}",
                          stacklevel=2)
