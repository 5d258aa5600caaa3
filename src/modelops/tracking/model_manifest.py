"""A model stored with a run: the manifest beside its files, and reading it back to register.

``run.log_model`` writes the flavor's files under an artifact path and, next to them,
``modelops-model.json``: the flavor, framework, flavor metadata and every file's sha256 and
size. ``Registry.register_from_run`` downloads the folder, checks the manifest's shape (it is
untrusted input from storage) and that the files are exactly those it lists, byte for byte,
then registers them as a version whose ``run_id`` is the run's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from modelops.entities.plain import to_plain
from modelops.entities.registry import ArtifactFile
from modelops.errors import IntegrityError, InvalidInput

#: The manifest's name inside a logged model's folder.
MANIFEST = "modelops-model.json"
_FORMAT = 1


#: What a manifest may also keep for the version it will become: its signature and input
#: example (``signature_fields``) and what loading it needs (``modelops.environment``).
DESCRIBED = ("signature", "input_example", "requirements")


def manifest_text(flavor: str, framework: str, meta: Mapping[str, Any],
                  files: tuple[ArtifactFile, ...],
                  described: Mapping[str, Any] | None = None) -> str:
    if any(f.path == MANIFEST for f in files):
        raise InvalidInput(f"the model's files include {MANIFEST!r}, the name its manifest "
                           "needs", field="model")
    return json.dumps({
        "format": _FORMAT, "flavor": flavor, "framework": framework,
        "flavor_meta": to_plain(dict(meta)),
        "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in files],
        **{k: to_plain(v) for k, v in (described or {}).items()
           if k in DESCRIBED and v not in (None, (), {})},
    }, indent=1, sort_keys=True)


def read_manifest(directory: str, where: str) -> tuple[str, str, dict[str, Any],
                                                        tuple[ArtifactFile, ...],
                                                        dict[str, Any]]:
    """The flavor, framework, flavor metadata and files a logged model's folder lists, and
    the signature and input example it keeps (checked as a version's when registered).
    ``IntegrityError`` naming ``where`` for a missing or malformed manifest."""
    path = os.path.join(directory, MANIFEST)
    if not os.path.isfile(path):
        raise IntegrityError(f"{where} holds no {MANIFEST}: it was not stored by log_model")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"expected a format-{_FORMAT} object")
        flavor, framework, meta = data["flavor"], data["framework"], data["flavor_meta"]
        if not (isinstance(flavor, str) and isinstance(framework, str)
                and isinstance(meta, dict) and isinstance(data["files"], list)):
            raise ValueError("flavor, framework, flavor_meta or files has the wrong type")
        files = []
        for entry in data["files"]:
            if not isinstance(entry, dict) or set(entry) != {"path", "sha256", "size"} \
                    or type(entry["size"]) is not int or entry["size"] < 0:
                raise ValueError(f"a malformed file entry {entry!r}")
            files.append(ArtifactFile(entry["path"], entry["sha256"], entry["size"]))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(f"{where}: unreadable {MANIFEST} ({exc})") from exc
    described = {k: data[k] for k in DESCRIBED if k in data}
    return flavor, framework, meta, tuple(sorted(files, key=lambda f: f.path)), described


def check_files(listed: tuple[ArtifactFile, ...], found: tuple[ArtifactFile, ...],
                where: str) -> None:
    """``IntegrityError`` unless the files found are exactly those listed, byte for byte."""
    want = {f.path: f for f in listed}
    got = {f.path: f for f in found}
    for path, f in want.items():
        other = got.get(path)
        if other is None:
            raise IntegrityError(f"{where}: file {path!r} is missing")
        if (other.sha256, other.size) != (f.sha256, f.size):
            raise IntegrityError(f"{where}: file {path!r} does not match its logged sha256 "
                                 f"{f.sha256[:16]}… (found {other.sha256[:16]}…)")
    extra = sorted(set(got) - set(want))
    if extra:
        raise IntegrityError(f"{where}: unexpected file(s) {extra} beside the logged model")
