"""Named points where a test can kill this process, to see what a crash there leaves.

A test starts a child process with ``MODELOPS_CRASH_AT=<point>`` (or ``<point>@<n>``: the
n-th time the point is reached); when the child gets there, it kills itself with SIGKILL —
no cleanup, no ``atexit``, its locks released by the kernel, exactly as a crash would. Unset,
a crash point costs one comparison. The points are named where they are placed
(``registry.log.packed`` …) and listed in ``docs/guarantees.md``.
"""

from __future__ import annotations

import os
import signal

_POINT, _, _NTH = (os.environ.get("MODELOPS_CRASH_AT") or "").partition("@")
_AT = _POINT or None
_LEFT = [int(_NTH) if _NTH else 1]


def crash_point(name: str) -> None:
    """Die here, at once, if this is the point (and the time) the environment names."""
    if _AT is not None and name == _AT:
        _LEFT[0] -= 1
        if _LEFT[0] == 0:
            os.kill(os.getpid(), signal.SIGKILL)
