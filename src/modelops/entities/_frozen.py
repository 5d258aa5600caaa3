"""A read-only dict for value objects' mappings (params, tags, latest metrics)."""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class FrozenDict(dict[K, V]):
    """A ``dict`` that refuses changes, so a frozen value object stays frozen.

    It is a real ``dict`` (json, pandas and ``==`` treat it as one), hashable and picklable.
    """

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("this mapping belongs to a frozen modelops value object; copy it first")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))

    def __repr__(self) -> str:
        return dict.__repr__(self)


def freeze(mapping: Any) -> FrozenDict[Any, Any]:
    """Convert any mapping (or None) into a FrozenDict."""
    if isinstance(mapping, FrozenDict):
        return mapping
    return FrozenDict(mapping or {})
