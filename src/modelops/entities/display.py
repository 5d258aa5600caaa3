"""How a value object shows in a notebook (``_repr_html_``).

Drawing HTML belongs to the layers above the value objects, so they register a renderer per
class here (``modelops/__init__.py`` does it on import) and the objects call ``html_of``.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

_renderers: dict[type, Callable[[Any], str]] = {}


def use_html_renderer(cls: type, render: Callable[[Any], str]) -> None:
    """Show instances of ``cls`` in a notebook with ``render(obj)``."""
    _renderers[cls] = render


def html_of(obj: Any) -> str:
    """``obj`` as notebook HTML: its class's renderer, else its escaped repr."""
    render = _renderers.get(type(obj))
    if render is None:
        return f"<pre>{html.escape(repr(obj))}</pre>"
    return render(obj)
