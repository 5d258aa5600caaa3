"""What every conformance suite shares: the capabilities a backend declares, the base class
of the suites, and a thread race (``in_threads``) for concurrency tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import pytest


@attrs.frozen
class StoreCapabilities:
    """What a backend under test supports; a missing capability skips the tests needing it.

    - ``artifacts``: ``log_artifact`` / ``write_artifact`` / ``list_artifacts`` /
      ``download_artifact`` work.
    - ``purge``: ``purge_run`` removes a run for good.
    - ``concurrent_threads``: many threads may share one store object.
    - ``reopen``: ``open_store("tracking", parse_uri(uri))`` in this process, for the URI
      that ``TrackingStoreSuite.store_uri(store)`` returns (``store.uri`` by default),
      opens a second handle on the same data, as another process would.
    - ``concurrent_processes``: several processes may open the store at once that way.
    """

    artifacts: bool = True
    purge: bool = True
    concurrent_threads: bool = True
    reopen: bool = True
    concurrent_processes: bool = True


def in_threads(count: int, target: Callable[[int], Any]) -> list[Any]:
    """Run ``target(i)`` in ``count`` threads started together; re-raise the first error;
    return the results in thread order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = target(i)
        except BaseException as exc:  # re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results


class StoreSuite:
    """The base of every conformance suite: capabilities and the skips they make."""

    capabilities: ClassVar[StoreCapabilities] = StoreCapabilities()

    def require(self, capability: str) -> None:
        """Skip the test, naming the capability, unless the backend declares it."""
        if not getattr(self.capabilities, capability):
            pytest.skip(f"{type(self).__name__} declares no {capability!r} capability")

    def store_uri(self, store: Any) -> str:
        """The URI other handles and processes open the store with."""
        return store.uri
