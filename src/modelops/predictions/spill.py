"""Spill files: what a closing prediction logger could not write, kept on local disk until
the next logger of the model writes it.

A spill file is written whole (a temporary file renamed into place) under
``<spill dir>/<model>/``; its first line names the store and the model, each next line is one
record with its kind and day. The next logger of that model on that store replays it: the
records go into parts named after the spill file and their position in it, each created
exclusively, so a replay cut short and done again — or two loggers replaying one file at once
— writes every record exactly once. The file is removed once all of it is stored. Lines that
do not read are skipped with a ``StoreWarning`` naming the file.

The spill directory is ``spill_dir`` given to the logger, else ``$MODELOPS_SPILL_DIR``, else
``$XDG_CACHE_HOME/modelops/spill`` (``~/.cache/modelops/spill``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from modelops._files import path_name
from modelops._ids import new_id
from modelops._json import loads
from modelops.errors import StoreError, StoreWarning
from modelops.stores import PredictionStore
from modelops.stores.predictions import KINDS

_FORMAT = "modelops-spill-1"
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NAME = re.compile(r"([0-9a-f]{32})\.jsonl")


def spill_dir(given: str | os.PathLike[str] | None = None) -> str:
    """Where spill files go (see the module docstring)."""
    if given is not None:
        return os.fspath(given)
    env = os.environ.get("MODELOPS_SPILL_DIR")
    if env:
        return env
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                             ".cache")
    return os.path.join(cache, "modelops", "spill")


def _folder(directory: str, model: str) -> str:
    return os.path.join(directory, path_name(model))


def write(directory: str, store_uri: str, model: str,
          records: Sequence[tuple[str, str, str]]) -> str:
    """Write ``(kind, day, JSON line)`` records as a new spill file; its path."""
    folder = _folder(directory, model)
    os.makedirs(folder, exist_ok=True)
    name = f"{new_id()}.jsonl"
    tmp = os.path.join(folder, f".{name}.tmp")
    lines = [json.dumps({"format": _FORMAT, "store": store_uri, "model": model})]
    lines += [json.dumps([kind, day, line]) for kind, day, line in records]
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(folder, name))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return os.path.join(folder, name)


def pending(directory: str, store_uri: str, model: str) -> list[str]:
    """The spill files of ``model`` on ``store_uri``, oldest first (files of other stores
    are left alone)."""
    folder = _folder(directory, model)
    try:
        names = sorted(n for n in os.listdir(folder) if _NAME.fullmatch(n))
    except OSError:
        return []
    out = []
    for name in names:
        path = os.path.join(folder, name)
        header = _header(path)
        if header is not None and header.get("store") == store_uri and \
                header.get("model") == model:
            out.append(path)
    return out


def _header(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as f:
            header = loads(f.readline())
    except (OSError, ValueError):
        return None
    return header if isinstance(header, dict) and header.get("format") == _FORMAT else None


def records(path: str) -> Iterator[tuple[str, str, str]]:
    """The ``(kind, day, line)`` records of a spill file; lines that do not read as one are
    skipped with a warning naming the file."""
    bad = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        f.readline()  # the header
        for text in f:
            try:
                kind, day, line = loads(text)
            except (ValueError, TypeError):
                bad += 1
                continue
            if kind in KINDS and isinstance(day, str) and _DAY.fullmatch(day) \
                    and isinstance(line, str) and "\n" not in line:
                yield kind, day, line
            else:
                bad += 1
    if bad:
        warnings.warn(f"modelops: skipped {bad} unreadable line(s) of the spill file {path}",
                      StoreWarning, stacklevel=2)


def replay(store: PredictionStore, model: str, path: str, batch_size: int,
           written: Callable[[str, list[str]], None] | None = None) -> dict[str, int]:
    """Write a spill file's records into ``store`` and remove it; the records written, by
    kind. Each part is named after the file and its place in it and created exclusively, so
    doing this again — after a failure half-way, or in another process at the same time —
    writes nothing twice. ``written(kind, lines)`` is called for each part stored.
    ``StoreError`` (the file kept) if the store fails."""
    match = _NAME.fullmatch(os.path.basename(path))
    if match is None:
        raise StoreError(f"{path} is not a spill file")
    spill_id = match.group(1)
    groups: dict[tuple[str, str], list[str]] = {}
    for kind, day, line in records(path):
        groups.setdefault((kind, day), []).append(line)
    counts = dict.fromkeys(KINDS, 0)
    index = 0
    for (kind, day), lines in groups.items():
        for start in range(0, len(lines), batch_size):
            chunk = lines[start:start + batch_size]
            store.write_part(model, kind, day, ("\n".join(chunk) + "\n").encode(),
                             part_id=f"{spill_id}-{index:06d}")
            counts[kind] += len(chunk)
            index += 1
            if written is not None:
                written(kind, chunk)
    with contextlib.suppress(FileNotFoundError):  # another logger replayed it meanwhile
        os.unlink(path)
    return counts
