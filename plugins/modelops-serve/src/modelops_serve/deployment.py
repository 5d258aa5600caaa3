"""What a server serves: a model's champion (and challenger), loaded, following the registry.

A :class:`Deployment` resolves ``models:/fraud@production`` (and the challenger's
``@staging``) once at start, loads the versions, and then polls the registry every
``poll_interval`` seconds. A poll asks the registry for the holder of the stage or alias;
the registry keeps the model's state and reads only the events appended since its last read,
so a poll that finds nothing new is one small read. When the holder moved, the new version
is loaded and verified *beside* the old one and swapped in with one assignment: a request
already running keeps the objects it started with, the next one gets the new version, and
no request fails. The switch is logged (logger ``modelops.serve``).

A URI naming a fixed version (``models:/fraud/1.2.0``) is never reloaded.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Mapping
from typing import Any

import attrs

from modelops._pacing import Pace
from modelops.errors import InvalidInput
from modelops.lifecycle import Router
from modelops.lifecycle.array_twin import ArrayTwin, signature_twin
from modelops.registry.uri import parse_model_uri
from modelops.validation import Schema, signature_of

log = logging.getLogger("modelops.serve")

__all__ = ["Deployment", "Served", "model_uri"]


@attrs.frozen
class Served:
    """One loaded version: its record, model, signature (None: registered without one), the
    digest of its files, and the model's array twin (``modelops.lifecycle.array_twin``: None
    unless every column of the signature is a float one and the twin was verified on the
    version's input example)."""

    record: Any
    model: Any
    signature: Schema | None
    digest: str
    twin: ArrayTwin | None = None

    @property
    def version(self) -> str:
        return str(self.record.version)


@attrs.frozen
class Lineup:
    """What serves right now: the champion, the challenger (or None) and the router between
    them (None without a challenger). Replaced whole on a switch, never changed."""

    champion: Served
    challenger: Served | None
    router: Router | None


def model_uri(model: str, at: str | None = None) -> str:
    """``models:/`` URI of ``model`` at a stage, ``@alias`` or version; ``model`` may be a
    URI already (``at`` must then be None)."""
    if not isinstance(model, str) or not model:
        raise InvalidInput(f"expected a model name or a models:/ URI, got {model!r}",
                           field="model")
    if model.startswith("models:/"):
        if at is not None:
            raise InvalidInput("give the stage or alias in the URI or in at=, not both",
                               field="at")
        parse_model_uri(model)
        return model
    at = "production" if at is None else at
    if not isinstance(at, str) or not at:
        raise InvalidInput(f"expected a stage, an alias or a version, got {at!r}", field="at")
    uri = f"models:/{model}@{at.lstrip('@')}" if not at[0].isdigit() else \
        f"models:/{model}/{at}"
    parse_model_uri(uri)
    return uri


def _digest(record: Any) -> str:
    """One sha256 over the version's files (path and digest each, in path order)."""
    h = hashlib.sha256()
    for f in sorted(record.files, key=lambda f: f.path):
        h.update(f"{f.path}\t{f.sha256}\n".encode())
    return h.hexdigest()


class Deployment:
    """The versions of ``uri`` (and of ``challenger``, a stage, ``@alias`` or version of the
    same model) a server serves, kept current by :meth:`poll` (from a thread :meth:`start`
    runs). Thread-safe: ``lineup`` is read without a lock."""

    def __init__(self, ops: Any, uri: str, *, challenger: str | None = None,
                 share: float = 0.1, salt: str | None = None, poll_interval: float = 5.0,
                 trusted: bool = True) -> None:
        if isinstance(poll_interval, bool) or not isinstance(poll_interval, (int, float)) \
                or not 0 < poll_interval < 1e9:
            raise InvalidInput(f"expected a positive number of seconds, got {poll_interval!r}",
                               field="poll_interval")
        self.ops = ops
        self.uri = uri
        ref = parse_model_uri(uri)
        self.name = ref.name
        self.at = ref.stage or (f"@{ref.alias}" if ref.alias else None) or \
            ("latest" if ref.latest else ref.version)
        self.follows = ref.version is None   # a fixed version never moves
        self.challenger_uri = None if challenger is None else model_uri(self.name, challenger)
        self.share = share
        self.salt = salt
        self.poll_interval = float(poll_interval)
        self.trusted = trusted
        self.reloads = 0
        self.last_error: str | None = None
        self._loaded: dict[str, Served] = {}
        self._switch = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: When the poller is due; requests hand it the GIL when it is late
        #: (``modelops._pacing``), as a busy worker could otherwise keep it waiting.
        self.pace = Pace()
        self.lineup = self._build(self._resolve())

    # -- resolving and loading ------------------------------------------------------------

    def _resolve(self) -> tuple[Any, Any]:
        registry = self.ops.registry
        champion = registry.resolve(self.uri)
        challenger = None if self.challenger_uri is None else \
            registry.resolve(self.challenger_uri)
        return champion, challenger

    def _served(self, record: Any) -> Served:
        held = self._loaded.get(record.version)
        if held is not None:
            return held
        model = self.ops.registry.load(record.name, record.version, trusted=self.trusted)
        signature = signature_of(record)
        served = Served(record, model, signature, _digest(record),
                        signature_twin(model, signature, record.input_example))
        self._loaded[record.version] = served
        return served

    def _build(self, records: tuple[Any, Any]) -> Lineup:
        champion, challenger = records
        router = None
        if challenger is not None:
            if challenger.version == champion.version:
                raise InvalidInput(f"the champion and the challenger are both version "
                                   f"{champion.version}", field="challenger")
            router = Router(self.ops, self.name, champion.version, challenger.version,
                            self.share, salt=self.salt)
        return Lineup(self._served(champion),
                      None if challenger is None else self._served(challenger), router)

    # -- following the registry ------------------------------------------------------------

    def poll(self) -> bool:
        """Check the registry once; switch to the versions it now names. True if it did."""
        with self._switch:
            champion, challenger = self._resolve()
            now = self.lineup
            same = champion.version == now.champion.version and \
                (challenger is None) == (now.challenger is None) and \
                (challenger is None or challenger.version == now.challenger.version)
            if same:
                return False
            new = self._build((champion, challenger))   # loaded before it serves
            self.lineup = new
            self.reloads += 1
            self._loaded = {v.version: v for v in (new.champion, new.challenger) if v}
        log.info("modelops serve: %s now serves %s%s (was %s%s)", self.uri,
                 new.champion.version,
                 f", challenger {new.challenger.version}" if new.challenger else "",
                 now.champion.version,
                 f", challenger {now.challenger.version}" if now.challenger else "")
        return True

    def start(self) -> None:
        """Poll from a daemon thread every ``poll_interval`` seconds (once; idempotent)."""
        if (not self.follows and self.challenger_uri is None) or self._thread is not None:
            return
        with self._switch:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="modelops-serve-poll",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self.pace.wait(self._stop, self.poll_interval):
            try:
                self.poll()
                self.last_error = None
            except Exception as exc:   # the store is down: keep serving what is loaded
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("modelops serve: polling the registry for %s failed (%s); "
                            "still serving %s", self.uri, self.last_error,
                            self.lineup.champion.version)

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=max(1.0, self.poll_interval))

    # -- routing ------------------------------------------------------------------------------

    def pick(self, key: str | None) -> tuple[Served, str | None, Mapping[str, Any] | None]:
        """The version serving ``key`` with its route (``champion``/``challenger``, None
        without a challenger) and the metadata logged with its predictions."""
        lineup = self.lineup
        if lineup.router is None:
            return lineup.champion, None, None
        # A request without a key is routed by a random one: the share holds, unsticky.
        assignment = lineup.router.assign(key if key is not None else uuid.uuid4().hex)
        served = lineup.challenger if assignment.role == "challenger" else lineup.champion
        return served, assignment.role, {"route": assignment.role, "router": lineup.router.salt}
