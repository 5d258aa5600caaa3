"""Client: wires the domain services to the stores that ``connect`` chose."""

from __future__ import annotations

import os
from typing import Any

from modelops.errors import NotFound
from modelops.stores import STORE_KINDS
from modelops.uri import StoreURI, default_uri, hide_password, parse_uri


def open_store(kind: str, uri: StoreURI) -> Any | None:
    """Ask the plugins for a store of ``kind`` at ``uri``; None if the scheme is served but
    not for this kind. ``UnknownScheme`` if no plugin serves the scheme at all."""
    from modelops import plugins

    return plugins.open_store(kind, uri)


class Client:
    """A connection to modelops stores; made by ``modelops.connect``.

    ``tracking`` is experiment tracking; the other capabilities appear as their stores do.
    A client is thread-safe and cheap to keep for the life of a process.
    """

    def __init__(self, stores: dict[str, Any], uri: str) -> None:
        self.uri = uri
        self._stores = stores
        self._tracking: Any = None
        self._registry: Any = None
        self._drift: Any = None
        self._predictions: Any = None

    def store(self, kind: str) -> Any:
        """The store of one kind (``"tracking"``, ``"registry"``, ``"drift"``,
        ``"predictions"``); ``NotFound`` if the chosen backend has none."""
        store = self._stores.get(kind)
        if isinstance(store, NotFound):
            raise store  # the backend serves the URI but keeps no such store, and said why
        if store is None:
            raise NotFound(f"the store at {hide_password(self.uri)} offers no {kind} store; pass "
                           f"connect(..., {kind}='<uri>') to use another backend for it")
        return store

    @property
    def tracking(self):  # type: ignore[no-untyped-def]
        """Experiment tracking (``modelops.tracking.Tracking``)."""
        if self._tracking is None:
            from modelops.tracking import Tracking

            self._tracking = Tracking(self.store("tracking"), client=self)
        return self._tracking

    @property
    def registry(self):  # type: ignore[no-untyped-def]
        """The model registry (``modelops.registry.Registry``)."""
        if self._registry is None:
            from modelops.registry import Registry

            self._registry = Registry(self.store("registry"), client=self)
        return self._registry

    @property
    def drift(self):  # type: ignore[no-untyped-def]
        """Drift detection (``modelops.drift.Drift``)."""
        if self._drift is None:
            from modelops.drift import Drift

            self._drift = Drift(self.store("drift"), client=self)
        return self._drift

    @property
    def predictions(self):  # type: ignore[no-untyped-def]
        """Prediction logging and reading (``modelops.predictions.Predictions``)."""
        if self._predictions is None:
            from modelops.predictions import Predictions

            self._predictions = Predictions(self.store("predictions"), client=self)
        return self._predictions

    def load_model(self, uri: str, trusted: bool = True, *,
                   enforce_signature: bool = False) -> Any:
        """Load the model a ``models:/`` URI names (``models:/fraud@production``,
        ``models:/fraud/1.2.0``, ``models:/fraud@champion``, ``models:/fraud/latest``) from
        this client's registry, digests verified. Loading a pickle runs code: see
        ``Registry.load``.

        ``enforce_signature=True`` returns it as a ``modelops.lifecycle.SignedModel``:
        ``predict`` and ``predict_proba`` check and coerce their input by the version's
        signature (the checks ``modelops serve`` makes); ``InvalidInput`` if the version
        was registered without one."""
        if not enforce_signature:
            return self.registry.load_uri(uri, trusted=trusted)
        from modelops.lifecycle.signed import SignedModel
        from modelops.validation import signature_of

        record = self.registry.resolve(uri)
        signature = signature_of(record)
        if signature is None:
            from modelops.errors import InvalidInput

            raise InvalidInput(f"{record.name} {record.version} was registered without a "
                               "signature; register it with input_example= or signature=",
                               field="enforce_signature")
        model = self.registry.load(record.name, record.version, trusted=trusted)
        return SignedModel(model, signature, example=record.input_example)

    def monitor(self, model: str, version: str | None = None, **options: Any):  # type: ignore[no-untyped-def]
        """Production monitoring of ``model`` (``modelops.monitoring.Monitor``): performance,
        drift, volume, latency, errors, health with alerts, reports; see docs/monitoring.md."""
        from modelops.monitoring import Monitor

        return Monitor(self, model, version, **options)

    def set_monitoring(self, model: str, *, task: str | None = None, positive: Any = None,
                       score: str | None = None, rules: Any = None, replace: bool = False,
                       **rule_options: Any):  # type: ignore[no-untyped-def]
        """Store how ``model`` (a registered model) is monitored — its task, positive label,
        what a logged probability is, health rules — with the model, for every monitor of it
        (code and ``modelops monitor``) to use; returns the ``MonitorSettings`` stored. See
        ``modelops.monitoring.settings``."""
        from modelops.monitoring.settings import save_settings

        return save_settings(self, model, task=task, positive=positive, score=score,
                             rules=rules, replace=replace, **rule_options)

    def monitoring_settings(self, model: str):  # type: ignore[no-untyped-def]
        """The ``MonitorSettings`` stored with ``model`` (empty ones when none are)."""
        from modelops.monitoring.settings import load_settings

        return load_settings(self, model)

    def router(self, model: str, champion: str = "production", challenger: str = "staging",
               share: float = 0.1, **options: Any):  # type: ignore[no-untyped-def]
        """Champion/challenger routing of ``model`` (``modelops.lifecycle.Router``): a
        ``share`` of request keys, chosen by hash, go to the challenger; every prediction is
        logged with the version that served it; ``evaluate()`` and ``conclude()`` judge and
        act. See docs/routing.md."""
        from modelops.lifecycle import Router

        return Router(self, model, champion, challenger, share, **options)

    def close(self) -> None:
        """Flush live runs of this client and release the stores."""
        from modelops.tracking import flusher

        tracking_store = self._stores.get("tracking")
        for run in flusher.live_runs():
            if run._store is tracking_store:
                run.flush()
        for store in {id(s): s for s in self._stores.values()
                      if s is not None and not isinstance(s, NotFound)}.values():
            store.close()
        if latest_client() is self:
            _latest.clear()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<modelops.Client {hide_password(self.uri)}>"


# The client the most recent connect() returned: the module-level API's default (see
# modelops.fluent.get_client) unless set_uri or $MODELOPS_URI says otherwise.
_latest: list[Client] = []


def latest_client() -> Client | None:
    """The client the most recent ``connect()`` returned (None once it is closed)."""
    return _latest[0] if _latest else None


def connect(uri: str | os.PathLike[str] | None = None, *,
            storage_options: dict[str, Any] | None = None,
            **overrides: str | os.PathLike[str]) -> Client:
    """Connect to a store and return a Client.

    ``uri`` defaults to ``$MODELOPS_URI``, else ``./.modelops`` on local disk. Plain paths and
    ``file://`` are local; ``memory://`` is in memory (a fresh store when it has no name).
    Keyword arguments named after a store kind (``tracking``, ``registry``, ``drift``,
    ``predictions``) take that kind from another URI; ``storage_options`` go to the backend
    (for fsspec ones, to the filesystem).

    The client becomes the default of the module-level API (``modelops.load_model``,
    ``modelops.start_run`` …) unless ``set_uri`` or ``$MODELOPS_URI`` chose another.
    """
    client = open_client(uri, storage_options=storage_options, **overrides)
    _latest[:] = [client]
    return client


def open_client(uri: str | os.PathLike[str] | None = None, *,
                storage_options: dict[str, Any] | None = None,
                **overrides: str | os.PathLike[str]) -> Client:
    """``connect`` without making the client the module-level API's default (for clients
    modelops opens for itself, such as the two sides of ``copy_store``)."""
    unknown = set(overrides) - set(STORE_KINDS)
    if unknown:
        from modelops.errors import InvalidInput

        raise InvalidInput(f"unknown keyword {sorted(unknown)[0]!r}; store kinds are "
                           f"{', '.join(STORE_KINDS)}", field="connect")
    main = parse_uri(uri if uri is not None else default_uri(), storage_options)
    opened: dict[str, Any] = {}
    stores = {}
    for kind in STORE_KINDS:
        target = parse_uri(overrides[kind], storage_options) if kind in overrides else main
        key = (kind, target.uri)
        if key not in opened:
            try:
                opened[key] = open_store(kind, target)
            except NotFound as exc:
                # A backend without this kind of store (MLflow keeps no predictions) says so
                # with NotFound: raised now if the kind was asked for, else on first use.
                if kind in overrides:
                    raise
                opened[key] = exc
        stores[kind] = opened[key]
    return Client(stores, main.uri)
