"""Plain data: what value objects become for JSON, files and tables.

:func:`to_plain` turns a value object, mapping, sequence or numpy value into ``dict``,
``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``; floats stay as they are, NaN and
±inf included. :func:`finite_or_none` then makes it strict JSON (RFC 8259 has no NaN): every
non-finite float becomes ``None``. One home for both, used by every codec, report and CLI.
"""

from __future__ import annotations

import enum
import math
import numbers
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["fields_to_plain", "finite_or_none", "to_plain"]


def to_plain(value: Any) -> Any:
    """``value`` as plain Python data.

    An attrs value object becomes its ``to_dict()`` when it has one, else one key per field
    (:func:`fields_to_plain`); a mapping a ``dict`` (keys that are strings, numbers, booleans
    or None stay, as JSON writes them; others become strings); a tuple or list a ``list``; an
    enum its value; a numpy array a list and a numpy scalar the Python scalar (``bool``,
    ``int`` or ``float``). Anything else is returned as it is.
    """
    if value is None or type(value) is str:
        return value
    if attrs.has(type(value)):
        to_dict = getattr(value, "to_dict", None)
        return to_dict() if to_dict is not None else fields_to_plain(value)
    if isinstance(value, Mapping):
        return {_key(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return to_plain(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool) or _is_numpy_bool(value):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if hasattr(value, "tolist") and not isinstance(value, bytes):  # numpy arrays
        return to_plain(value.tolist())
    return value


def fields_to_plain(obj: Any) -> dict[str, Any]:
    """An attrs value object as one key per field, named as the field, each value
    :func:`to_plain`."""
    return {f.name: to_plain(getattr(obj, f.name)) for f in attrs.fields(type(obj))}


def finite_or_none(value: Any) -> Any:
    """NaN and ±inf become None, through dicts, lists and tuples (tuples become lists): for
    strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value


def _key(key: Any) -> Any:
    if key is None or isinstance(key, str):
        return key
    plain = to_plain(key)
    return plain if isinstance(plain, (bool, int, float)) else str(key)


def _is_numpy_bool(value: Any) -> bool:
    kind = type(value)
    return kind.__module__ == "numpy" and kind.__name__ in ("bool_", "bool")
