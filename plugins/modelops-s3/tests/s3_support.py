"""Names the S3 tests share: the test run's bucket and fresh key prefixes."""

from __future__ import annotations

import itertools
import re
import uuid

#: The bucket the test run's server is started with.
BUCKET = "modelops-tests"

_counter = itertools.count()


def fresh_prefix(label: str = "t") -> str:
    """A key prefix no other test uses."""
    clean = re.sub(r"[^A-Za-z0-9_-]+", "-", label)[-40:].strip("-") or "t"
    return f"{clean}-{next(_counter)}-{uuid.uuid4().hex[:8]}"
