"""Store URIs: parsing them, and choosing the default store."""

from __future__ import annotations

import os
import re
from typing import Any

import attrs

from modelops.entities import FrozenDict, freeze
from modelops.errors import InvalidInput

#: Where ``connect()`` stores data when neither an argument nor MODELOPS_URI says otherwise.
DEFAULT_PATH = ".modelops"
ENV_URI = "MODELOPS_URI"

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*)://(.*)$", re.DOTALL)
_WINDOWS_DRIVE = re.compile(r"^[a-zA-Z]:[\\/]")
# MLflow names some stores without '//' ("databricks"), so "mlflow+databricks" is a URI too.
_BARE_MLFLOW = re.compile(r"^(mlflow\+[a-zA-Z][a-zA-Z0-9.\-]*)$", re.IGNORECASE)


def hide_password(uri: str) -> str:
    """``uri`` with the password of its ``user:password@`` part as ``***``, for messages, reprs
    and the ``store_uri`` hooks receive: a database URI's password must not reach a log."""
    match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.\-]*://[^/@:]*):([^/@]*)@", uri)
    return uri if match is None else f"{match.group(1)}:***@{uri[match.end():]}"


@attrs.frozen
class StoreURI:
    """A parsed store URI, as store-factory hooks receive it.

    ``scheme`` is lower-case (``file``, ``memory``, ``s3``, ``mlflow+sqlite``); ``path`` is
    everything after ``scheme://`` (for ``file`` an absolute local path); ``options`` are the
    ``storage_options`` given to ``connect``.
    """

    uri: str
    scheme: str
    path: str
    options: FrozenDict[str, Any] = attrs.field(factory=FrozenDict, converter=freeze)


def default_uri() -> str:
    """``$MODELOPS_URI`` if set, else ``./.modelops`` in the working directory."""
    return os.environ.get(ENV_URI) or os.path.abspath(DEFAULT_PATH)


def parse_uri(uri: str | os.PathLike[str], options: dict[str, Any] | None = None) -> StoreURI:
    """Parse a store URI; plain paths (relative, absolute, ``~``) mean the local filesystem."""
    if isinstance(uri, os.PathLike):
        uri = os.fspath(uri)
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidInput(f"expected a URI or a path, got {uri!r}", field="uri")
    if "\x00" in uri:
        raise InvalidInput("must not contain NUL", field="uri")
    if not uri.isascii():
        try:
            uri.encode()
        except UnicodeEncodeError:   # a lone surrogate: no path, no URL has it
            raise InvalidInput(f"is not valid Unicode (a lone surrogate?), got {uri!r}",
                               field="uri") from None
    bare = _BARE_MLFLOW.match(uri)
    if bare is not None:
        return StoreURI(uri, bare.group(1).lower(), "", options or {})
    match = _SCHEME.match(uri)
    if match is None or _WINDOWS_DRIVE.match(uri):
        path = os.path.abspath(os.path.expanduser(uri))
        return StoreURI("file://" + path, "file", path, options or {})
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme in ("file", "local"):
        path = os.path.abspath(os.path.expanduser(rest or "."))
        return StoreURI("file://" + path, "file", path, options or {})
    return StoreURI(uri, scheme, rest, options or {})
