"""JSON read back from storage, where any byte may be wrong."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["loads"]


def loads(data: str | bytes | bytearray) -> Any:
    """``json.loads``, with text nested too deeply to parse refused as any other text that
    is not JSON: a ``ValueError`` (a ``RecursionError`` would reach the caller's caller as
    a raw Python error)."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply to parse") from None
