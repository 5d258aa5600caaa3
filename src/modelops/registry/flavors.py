"""Model flavors: how a model object becomes files and back.

Built in (this module is a plugin, registered like third-party ones):

- ``joblib``: scikit-learn estimators and any picklable object. Loading a pickle runs code
  from the file, so it needs ``trusted=True`` (the default of ``Registry.load``).
- ``path``: a file or directory in your own format, stored as it is; loading returns the
  local path of the verified copy.
- ``skops``: scikit-learn in skops' format (``pip install skops``), which can be loaded with
  ``trusted=False``: only types skops knows to be safe are built.

Other flavors come from plugins through the ``modelops_model_flavors`` hook.
"""

from __future__ import annotations

import io
import os
import shutil
from typing import Any

from modelops._files import check_local_path
from modelops.entities.registry import Flavor
from modelops.errors import InvalidInput, MissingDependency, UntrustedModel
from modelops.hookspecs import hookimpl


def framework_of(obj: Any) -> str:
    """``sklearn`` for scikit-learn objects, else the top-level package of the object's type."""
    module = type(obj).__module__ or ""
    top = module.split(".", 1)[0]
    return "sklearn" if top == "sklearn" else top


class JoblibFlavor:
    """Pickles with joblib; scikit-learn models and any picklable object."""

    name = "joblib"
    filename = "model.joblib"

    def detect(self, obj: Any) -> str | None:
        if isinstance(obj, (str, bytes, os.PathLike)) or obj is None:
            return None
        return framework_of(obj)

    def save(self, obj: Any, directory: str) -> dict[str, Any]:
        joblib = _import("joblib", "the joblib flavor")
        joblib.dump(obj, os.path.join(directory, self.filename))
        meta: dict[str, Any] = {"file": self.filename, "class": _qualname(obj)}
        try:
            import sklearn

            if framework_of(obj) == "sklearn":
                meta["sklearn_version"] = sklearn.__version__
        except ImportError:
            pass
        return meta

    def load(self, directory: str, meta: dict[str, Any], trusted: bool) -> Any:
        with open(_version_file(directory, meta.get("file", self.filename)), "rb") as f:
            return self.load_bytes(f.read(), meta, trusted)

    def load_bytes(self, data: bytes, meta: dict[str, Any], trusted: bool) -> Any:
        if not trusted:
            raise UntrustedModel(
                "this version is a joblib pickle, and loading a pickle runs code from the "
                "file; pass trusted=True if you trust its source, or register the model with "
                "flavor='skops' to load it untrusted")
        joblib = _import("joblib", "loading a joblib model")
        return joblib.load(io.BytesIO(data))


class PathFlavor:
    """A file or directory stored as it is, for models in the user's own format."""

    name = "path"

    def detect(self, obj: Any) -> str | None:
        if isinstance(obj, (str, os.PathLike)) and os.path.exists(obj):
            return "files"
        return None

    def in_place(self, obj: Any) -> tuple[dict[str, Any], dict[str, str]]:
        """What ``save`` would return and write, without writing it: the metadata, and each
        file's path in the version mapped to the local file it copies. Registering reads
        the files where they are instead of staging a copy."""
        src = check_local_path(obj, "model")
        if os.path.isfile(src):
            name = os.path.basename(src)
            return {"kind": "file", "root": f"data/{name}"}, {f"data/{name}": src}
        if os.path.isdir(src):
            files = {}
            for dirpath, _, names in os.walk(src, followlinks=True):  # as copytree copies
                for name in names:
                    path = os.path.join(dirpath, name)
                    files["data/" + os.path.relpath(path, src).replace(os.sep, "/")] = path
            return {"kind": "directory", "root": "data"}, files
        raise InvalidInput(f"no file or directory at {src!r}", field="model")

    def save(self, obj: Any, directory: str) -> dict[str, Any]:
        meta, files = self.in_place(obj)
        os.makedirs(os.path.join(directory, "data"), exist_ok=True)
        for rel, src in files.items():
            target = os.path.join(directory, *rel.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(src, target)
        return meta

    def load(self, directory: str, meta: dict[str, Any], trusted: bool) -> Any:
        root = meta.get("root")
        path = _version_path(directory, root, "root")
        if not os.path.exists(path):
            if meta.get("kind") != "directory":
                raise ValueError(f"the record's root {root!r} is none of the version's files")
            os.makedirs(path, exist_ok=True)  # an empty directory: no file made it exist
        return path


class SkopsFlavor:
    """scikit-learn in skops' format, loadable without trusting the file."""

    name = "skops"
    filename = "model.skops"

    def detect(self, obj: Any) -> str | None:
        return None  # only when asked for by name: flavor="skops"

    def save(self, obj: Any, directory: str) -> dict[str, Any]:
        sio = _import("skops.io", "the skops flavor", package="skops")
        sio.dump(obj, os.path.join(directory, self.filename))
        return {"file": self.filename, "class": _qualname(obj)}

    def load(self, directory: str, meta: dict[str, Any], trusted: bool) -> Any:
        with open(_version_file(directory, meta.get("file", self.filename)), "rb") as f:
            return self.load_bytes(f.read(), meta, trusted)

    def load_bytes(self, data: bytes, meta: dict[str, Any], trusted: bool) -> Any:
        sio = _import("skops.io", "loading a skops model", package="skops")
        untrusted = sio.get_untrusted_types(data=data)
        if untrusted and not trusted:
            raise UntrustedModel(f"the skops file holds types skops does not trust by default: "
                                 f"{', '.join(untrusted)}; pass trusted=True to allow them")
        return sio.loads(data, trusted=untrusted or None)


def _version_path(directory: str, relative: Any, field: str = "file") -> str:
    """``relative``, from the stored record's metadata, as a path inside ``directory`` (where
    the version's verified files were placed); ``ValueError`` when it is not a plain
    relative path: a record is untrusted input, and a path elsewhere would load a file
    nobody verified (unpickling it runs its code)."""
    if not isinstance(relative, str) or "\\" in relative or "\0" in relative or \
            any(part in ("", ".", "..") for part in relative.split("/")):
        raise ValueError(f"the record's {field} {relative!r} is not a path inside the version")
    return os.path.join(directory, *relative.split("/"))


def _version_file(directory: str, relative: Any) -> str:
    """``_version_path`` of one of the version's files: a regular file, not a link."""
    path = _version_path(directory, relative)
    if os.path.islink(path) or not os.path.isfile(path):
        raise ValueError(f"the record's file {relative!r} is none of the version's files")
    return path


def _qualname(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _import(module: str, feature: str, package: str | None = None) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependency(feature, package or module) from None


BUILTIN_FLAVORS = (JoblibFlavor(), PathFlavor(), SkopsFlavor())


@hookimpl
def modelops_model_flavors() -> list[Flavor]:
    return list(BUILTIN_FLAVORS)


def available_flavors() -> dict[str, Flavor]:
    """Every flavor the loaded plugins offer, by name; later plugins first."""
    from modelops.plugins import hook

    out: dict[str, Flavor] = {}
    for found in hook("modelops_model_flavors")():
        for flavor in found or ():
            out.setdefault(flavor.name, flavor)
    return out


def choose_flavor(obj: Any, name: str | None) -> tuple[Flavor, str]:
    """The flavor to save ``obj`` with, and the framework it detected."""
    flavors = available_flavors()
    if name is not None:
        if not isinstance(name, str) or name not in flavors:
            raise InvalidInput(f"unknown flavor {name!r}; available: "
                               f"{', '.join(sorted(flavors))}", field="flavor")
        flavor = flavors[name]
        return flavor, flavor.detect(obj) or framework_of(obj)
    # The path flavor first (a string naming a file is a path, not an object); joblib, which
    # takes anything, last.
    ordered = sorted(flavors.values(), key=lambda f: (f.name != "path", f.name == "joblib"))
    for flavor in ordered:
        framework = flavor.detect(obj)
        if framework is not None:
            return flavor, framework
    raise InvalidInput(f"no flavor can save a {type(obj).__name__}; name a path to register "
                       "files, or install a plugin with a flavor for it", field="model")
