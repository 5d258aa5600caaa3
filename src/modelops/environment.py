"""What the running process is: the environment a run records and a model needs to load.

Every run is tagged at its start with the interpreter and the machine it ran on and, when the
code runs in a git work tree, the commit checked out and whether tracked files differ from it:

- ``modelops.python``: the Python version (``3.11.9``);
- ``modelops.platform``: ``platform.platform()`` (``Linux-6.1.0-x86_64-with-glibc2.36``);
- ``modelops.git.commit``: the full hash of ``HEAD``;
- ``modelops.git.dirty``: ``true`` when tracked files have changes, staged or not
  (untracked files do not count: they are often data and outputs).

The work tree is the one holding the script being run (``sys.argv[0]``), else the current
directory (a notebook, ``python -c``). ``git`` runs once per directory and process, with a
short timeout; without git, outside a work tree or when git is slow, there are no git tags
and the run goes on. The rest is read once per process, so a run's start pays a dict copy.

A model stored or registered records its ``requirements``: the version of every distribution
its flavor and framework need to load it (scikit-learn, numpy, scipy and joblib for a
scikit-learn model saved with joblib; xgboost or lightgbm with those; skops for the skops
flavor; modelops itself), and ``python``.
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys
from collections.abc import Iterable

#: Seconds each ``git`` call may take before the run goes on without git tags.
GIT_TIMEOUT = 2.0

#: Distributions a model of each framework needs to load (beside its flavor's).
FRAMEWORK_PACKAGES = {
    "sklearn": ("scikit-learn", "numpy", "scipy", "joblib"),
    "xgboost": ("xgboost", "scikit-learn", "numpy", "scipy"),
    "lightgbm": ("lightgbm", "scikit-learn", "numpy", "scipy"),
}
#: Distributions each built-in flavor needs to load what it saved.
FLAVOR_PACKAGES = {"joblib": ("joblib",), "skops": ("skops",), "path": ()}

PYTHON_TAG = "modelops.python"
PLATFORM_TAG = "modelops.platform"
GIT_COMMIT_TAG = "modelops.git.commit"
GIT_DIRTY_TAG = "modelops.git.dirty"


@functools.lru_cache(maxsize=1)
def _machine() -> dict[str, str]:
    return {PYTHON_TAG: platform.python_version(), PLATFORM_TAG: platform.platform()}


def _code_directory() -> str:
    script = sys.argv[0] if sys.argv else ""
    if script and os.path.isfile(script):
        return os.path.dirname(os.path.abspath(script))
    return os.getcwd()


def _git(directory: str, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", directory, *args], capture_output=True,
                              timeout=GIT_TIMEOUT, text=True, stdin=subprocess.DEVNULL,
                              env={**os.environ, "GIT_OPTIONAL_LOCKS": "0",
                                   "GIT_TERMINAL_PROMPT": "0"})
    except (OSError, subprocess.SubprocessError, ValueError):
        return None   # no git, too slow, or the directory vanished
    return done.stdout if done.returncode == 0 else None


@functools.lru_cache(maxsize=16)
def git_state(directory: str) -> dict[str, str]:
    """The git tags for code in ``directory``: empty outside a work tree or without git."""
    commit = _git(directory, "rev-parse", "--verify", "HEAD")
    if commit is None or not commit.strip():
        return {}
    out = {GIT_COMMIT_TAG: commit.strip()}
    status = _git(directory, "status", "--porcelain", "--untracked-files=no")
    if status is not None:
        out[GIT_DIRTY_TAG] = "true" if status.strip() else "false"
    return out


def run_tags() -> dict[str, str]:
    """The environment tags of a run started now (see the module docstring)."""
    try:
        directory = _code_directory()
    except OSError:         # the current directory was removed
        return dict(_machine())
    return {**_machine(), **git_state(directory)}


@functools.lru_cache(maxsize=256)
def installed_version(distribution: str) -> str | None:
    """The installed version of a distribution, or None."""
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except (metadata.PackageNotFoundError, ValueError):
        return None


@functools.lru_cache(maxsize=64)
def _distribution_of(module: str) -> str | None:
    from importlib import metadata

    found = metadata.packages_distributions().get(module)
    return found[0] if found else None


def requirements(flavor: str, framework: str,
                 extra: Iterable[str] = ()) -> dict[str, str]:
    """``{distribution: installed version}`` a model of ``framework`` saved by ``flavor``
    needs to load, with ``python`` and ``modelops``; ``extra`` distributions too (a
    plugin flavor's ``packages``). Only installed distributions are listed."""
    names = ["modelops", *FLAVOR_PACKAGES.get(flavor, ())]
    if framework in FRAMEWORK_PACKAGES:
        names += FRAMEWORK_PACKAGES[framework]
    elif framework and framework not in ("builtins", "modelops"):
        distribution = _distribution_of(framework)
        if distribution is not None:
            names.append(distribution)
    names += list(extra)
    out = {"python": platform.python_version()}
    for name in dict.fromkeys(names):
        version = installed_version(name)
        if version is not None:
            out[name] = version
    return out
