"""Validators shared by every value object, and by backends that take raw input: names,
keys, numbers, and the limits on them (``MAX_NAME_LENGTH`` …).

Stores lay names out as paths or keys, so a name must never be able to escape its place:
path separators (in names), ``..`` segments, NUL and control characters are refused, with an
``InvalidInput`` that names the field and shows the value. Each ``check_*`` function returns
the checked value (normalised where it says so) or raises.

A name must also come back from every backend exactly as it went in, so what one of them
would read differently is refused everywhere, before anything is written: ``?`` and ``#``
(an object store's client or a URL cuts a key there: ``a?versionId=1`` is written as ``a``),
text that is not valid Unicode (a lone surrogate has no UTF-8 form, so no file or key can be
named by it), a key segment longer than a filesystem's 255 bytes, and a leading ``~`` in a
name — the folders of names too long for a filesystem are ``~`` and a digest, and no valid
name may ever be one of them.
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
#: The longest file or folder name (in UTF-8 bytes) filesystems hold.
MAX_SEGMENT_BYTES = 255

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
    if text[0] == "~":
        raise InvalidInput(f"must not start with '~' (the folders of long names do), got "
                           f"{text!r}", field=field)
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
    if len(text) * 4 > MAX_SEGMENT_BYTES and any(
            len(part.encode()) > MAX_SEGMENT_BYTES for part in text.split("/")):
        raise InvalidInput(f"has a segment longer than {MAX_SEGMENT_BYTES} bytes in UTF-8 "
                           f"(no filesystem holds such a name), got {text!r}", field=field)
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
    except OverflowError:
        raise InvalidInput(f"{value!r} is too large for a 64-bit float", field=field) from None


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
    try:
        number = int(value.__index__())
    except (TypeError, ValueError):  # a numpy array of floats has __index__, and refuses
        raise InvalidInput(f"expected an integer, got {value!r}", field=field) from None
    if not _INT64[0] <= number <= _INT64[1]:
        raise InvalidInput(f"{number} does not fit in 64 bits", field=field)
    return number


#: Unix milliseconds of 0001-01-01 and of the last millisecond of 9999: the times a date
#: (a day partition, a report's day) can be made of.
MIN_TIMESTAMP_MS, MAX_TIMESTAMP_MS = -62_135_596_800_000, 253_402_300_799_999


def check_timestamp(value: Any, field: str) -> int:
    """A time in Unix milliseconds that has a calendar date (years 1 to 9999)."""
    number = check_int(value, field)
    if not MIN_TIMESTAMP_MS <= number <= MAX_TIMESTAMP_MS:
        raise InvalidInput(f"{number} ms is not a time between the years 1 and 9999",
                           field=field)
    return number


def check_text(value: Any, field: str) -> str:
    """Any text that can be stored: a string with no lone surrogate (it has no UTF-8 form)."""
    if not isinstance(value, str):
        raise InvalidInput(f"expected a string, got {type(value).__name__} {value!r}",
                           field=field)
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise InvalidInput(f"is not valid Unicode (a lone surrogate?), got {value!r}",
                               field=field) from None
    return value


def check_bool(value: Any, field: str) -> bool:
    """A yes/no switch: True or False (numpy's too), never any object's truth."""
    if type(value) is bool or type(value).__name__ == "bool_":
        return bool(value)
    raise InvalidInput(f"expected True or False, got {value!r}", field=field)


def check_sequence(value: Any, field: str) -> list[Any]:
    """An ordered sequence of values (a list, a tuple, a 1-D array or series) as a list."""
    if isinstance(value, (str, bytes, bytearray, Mapping, set, frozenset)) or \
            not hasattr(value, "__len__") or not hasattr(value, "__iter__"):
        raise InvalidInput(f"expected a list of values, got {type(value).__name__}",
                           field=field)
    if getattr(value, "ndim", 1) != 1:
        raise InvalidInput(f"expected one value per row (one dimension), got "
                           f"{getattr(value, 'ndim', '?')} dimensions", field=field)
    return value.tolist() if hasattr(value, "tolist") else list(value)


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
    if "?" in value or "#" in value:
        raise InvalidInput(f"must not contain '?' or '#' (object stores and URLs cut a key "
                           f"there), got {value!r}", field=field)
    return check_text(value, field)
