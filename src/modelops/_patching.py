"""Reversible, thread-safe patching of ``fit`` methods for autologging.

Each patched class gets a wrapper in its own ``__dict__``; the original is kept so
``unpatch_all`` puts back exactly what was there. Only a thread's outermost patched call
logs: a pipeline fitting its steps, or a search fitting its candidates, runs the inner
``fit`` calls with the thread's depth above zero, so they pass straight through.
"""

from __future__ import annotations

import functools
import multiprocessing.dummy
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()
# (class, method name) -> (group, the original)
_patched: dict[tuple[type, str], tuple[str, Any]] = {}
_local = threading.local()
#: Outermost logged fits running now, in any thread (see ``inner``).
_running = 0


def depth() -> int:
    return getattr(_local, "depth", 0)


@contextmanager
def inside() -> Iterator[None]:
    """Calls made in this block are inner calls: patched methods do not log them."""
    global _running
    _local.depth = depth() + 1
    outermost = _local.depth == 1
    if outermost:
        with _lock:
            _running += 1
    try:
        yield
    finally:
        _local.depth -= 1
        if outermost:
            with _lock:
                _running -= 1


def inner() -> bool:
    """Whether a patched call here belongs to a fit already being logged: one of this
    thread's, or a search's running candidates in a joblib thread pool (whose workers are
    ``multiprocessing.dummy`` threads that cannot see the caller's depth). A loky worker
    process never sees the patch at all."""
    if depth():
        return True
    return _running > 0 and isinstance(threading.current_thread(),
                                       multiprocessing.dummy.DummyProcess)


def patch(group: str, cls: type, name: str, make: Callable[[Any], Callable[..., Any]]) -> None:
    """Replace ``cls.name`` (defined on ``cls`` itself) by ``make(original)``, remembered
    under ``group`` (a framework) for ``unpatch_group``."""
    with _lock:
        if (cls, name) in _patched or name not in cls.__dict__:
            return
        original = cls.__dict__[name]
        wrapper = functools.wraps(original)(make(original))
        wrapper.__modelops_autolog__ = True  # type: ignore[attr-defined]
        setattr(cls, name, wrapper)
        _patched[(cls, name)] = (group, original)


def unpatch_group(group: str) -> int:
    """Put back every original patched under ``group``; returns how many there were."""
    with _lock:
        mine = [key for key, (g, _) in _patched.items() if g == group]
        for key in mine:
            cls, name = key
            setattr(cls, name, _patched.pop(key)[1])
        return len(mine)


def patched(group: str | None = None) -> list[tuple[type, str]]:
    """The (class, method) pairs patched now, of one group or of all."""
    with _lock:
        return [key for key, (g, _) in _patched.items() if group in (None, g)]
