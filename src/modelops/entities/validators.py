"""Validators shared by every value object, and by backends that take raw input: names,
keys, numbers, and the limits on them (``MAX_NAME_LENGTH`` …).

Stores lay names out as paths or keys, so a name must never be able to escape its place:
path separators (in names), ``..`` segments, NUL and control characters are refused, with an
``InvalidInput`` that names the field and shows the value. Each ``check_*`` function returns
the checked value (normalised where it says so) or raises.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from modelops.errors import InvalidInput

MAX_NAME_LENGTH = 200
MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Names and keys repeat endlessly (every run has the same metric keys): remember the valid
# ones so that reading thousands of runs does not re-check the same strings.
_MEMO_LIMIT = 100_000
_valid_names: set[str] = set()
_valid_keys: set[str] = set()


def _remember(memo: set[str], value: str) -> str:
    if len(memo) < _MEMO_LIMIT:
        memo.add(value)
    return value


def check_name(value: Any, field: str) -> str:
    """Validate a name that becomes one path segment: an experiment or run name."""
    if type(value) is str and value in _valid_names:
        return value
    text = _check_text(value, field, MAX_NAME_LENGTH)
    if "/" in text or "\\" in text:
        raise InvalidInput(f"must not contain '/' or '\\', got {text!r}", field=field)
    if text in (".", "..") or text != text.strip():
        raise InvalidInput(f"must not be '.' or '..' or start/end with spaces, got {text!r}",
                           field=field)
    return _remember(_valid_names, text)


def check_key(value: Any, field: str) -> str:
    """Validate a metric, param or tag key.

    Keys may hold '/' (``train/loss`` is common) but no empty, '.' or '..' segment, so a
    backend that maps keys to paths stays inside its directory.
    """
    if type(value) is str and value in _valid_keys:
        return value
    text = _check_text(value, field, MAX_KEY_LENGTH)
    if any(part in ("", ".", "..") for part in text.split("/")):
        raise InvalidInput(
            f"must not start or end with '/', or hold an empty, '.' or '..' segment, got {text!r}",
            field=field,
        )
    if "\\" in text:
        raise InvalidInput(f"must not contain '\\', got {text!r}", field=field)
    return _remember(_valid_keys, text)


def check_value(value: Any, field: str, max_length: int) -> str:
    """Validate a param or tag value: any object, stored as its ``str``."""
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        raise InvalidInput("must not contain NUL", field=field)
    if len(text) > max_length:
        raise InvalidInput(f"is {len(text)} characters long; the limit is {max_length}",
                           field=field)
    return text


def check_number(value: Any, field: str) -> float:
    """A metric value: any real number; NaN and ±inf are allowed and kept exactly."""
    if isinstance(value, float):
        return value
    if isinstance(value, (bool, str, bytes)) or value is None:
        raise InvalidInput(f"expected a number, got {value!r}", field=field)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"expected a number, got {value!r}", field=field) from None


def check_finite(value: Any, field: str) -> float:
    number = check_number(value, field)
    if not math.isfinite(number):
        raise InvalidInput(f"expected a finite number, got {number!r}", field=field)
    return number


_INT64 = (-(2**63), 2**63 - 1)


def check_int(value: Any, field: str) -> int:
    """An integer that fits in 64 bits (steps and timestamps are stored as int64)."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise InvalidInput(f"expected an integer, got {value!r}", field=field)
    number = int(value.__index__())
    if not _INT64[0] <= number <= _INT64[1]:
        raise InvalidInput(f"{number} does not fit in 64 bits", field=field)
    return number


def check_str_mapping(value: Any, field: str, max_value_length: int) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"expected a mapping, got {type(value).__name__}", field=field)
    return {
        check_key(k, f"{field} key"): check_value(v, f"{field}[{k!r}]", max_value_length)
        for k, v in value.items()
    }


def _check_text(value: Any, field: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"expected a string, got {type(value).__name__} {value!r}", field=field)
    if not value:
        raise InvalidInput("must not be empty", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"is {len(value)} characters long; the limit is {max_length}",
                           field=field)
    if _CONTROL.search(value):
        raise InvalidInput(f"must not contain NUL or control characters, got {value!r}",
                           field=field)
    return value
