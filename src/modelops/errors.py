"""Every exception modelops raises.

The tree::

    ModelOpsError
    ├── InvalidInput (ValueError)          bad names, values, filters; nothing was written
    │   ├── FilterSyntaxError              a search filter or order_by that does not parse
    │   └── UnknownScheme                  a store URI whose scheme no plugin serves
    ├── NotFound (LookupError)             no such experiment, run, artifact …
    ├── AlreadyExists                      a name or version someone already claimed
    ├── Conflict                           the request contradicts what is stored
    │   ├── ParamConflict                  a param logged again with another value
    │   └── PromotionRefused               a promotion rule said no; ``.decision`` says why
    ├── StoreError (OSError)               the backend failed; the message names the store
    │   └── IntegrityError                 stored bytes no longer match their digest
    ├── UntrustedModel                     loading would run code the caller did not trust
    └── MissingDependency (ImportError)    an optional package is needed; names what to install

    StoreWarning (RuntimeWarning)          a warning, not an error: a damaged or unexpected
                                           stored record was skipped; names the file
    AutologWarning (RuntimeWarning)        autologging could not log a fit; the fit itself
                                           went on untouched

Each error subclasses the matching built-in too, so ``except LookupError`` and
``except ValueError`` keep working in code that does not know modelops.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "AutologWarning",
    "Conflict",
    "FilterSyntaxError",
    "IntegrityError",
    "InvalidInput",
    "MissingDependency",
    "ModelOpsError",
    "NotFound",
    "ParamConflict",
    "PromotionRefused",
    "StoreError",
    "StoreWarning",
    "UnknownScheme",
    "UntrustedModel",
]


class ModelOpsError(Exception):
    """The root of every error modelops raises."""


class InvalidInput(ModelOpsError, ValueError):
    """Input was refused before anything was written.

    ``field`` names what was wrong (``metrics[3].value``, ``experiment name``) when known.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class FilterSyntaxError(InvalidInput):
    """A search filter or ``order_by`` clause that does not parse.

    ``position`` is the 0-based offset of the offending token in ``text``; the message shows
    the text with a caret under that token.
    """

    def __init__(self, message: str, *, text: str, position: int) -> None:
        caret = " " * position + "^"
        super().__init__(f"{message} at position {position}:\n  {text}\n  {caret}")
        self.text = text
        self.position = position


class UnknownScheme(InvalidInput):
    """No installed plugin serves the scheme of a store URI."""


class NotFound(ModelOpsError, LookupError):
    """The experiment, run, artifact or other object asked for does not exist."""


class AlreadyExists(ModelOpsError):
    """A name or version was already claimed, possibly by another process or machine."""


class Conflict(ModelOpsError):
    """The request contradicts what is already stored."""


class ParamConflict(Conflict):
    """A param was logged again with a different value; params are immutable once logged."""


class PromotionRefused(Conflict):
    """A promotion rule refused a promotion; ``decision`` holds the rule's reason and deltas.

    The refusal is recorded in the model's history before this is raised.
    """

    def __init__(self, message: str, decision: object) -> None:
        super().__init__(message)
        self.decision = decision


class StoreError(ModelOpsError, OSError):
    """A backend failed to read or write; the message names the store and the object."""


class StoreWarning(RuntimeWarning):
    """A stored record that is damaged, of the wrong shape or unexpected was skipped (or
    set aside) so the read could go on; the message names the file."""


class AutologWarning(RuntimeWarning):
    """Autologging failed to log a fit (a store error, a param conflict, a model that would
    not save); the fit's result is the user's as if autologging were off."""


class IntegrityError(StoreError):
    """Stored bytes do not match the digest recorded when they were written (tampering or
    corruption); nothing was loaded."""


class UntrustedModel(ModelOpsError):
    """Loading this artifact would run arbitrary code (a pickle), or uses types the caller
    did not trust; load with ``trusted=True`` only if you trust where it came from."""


class MissingDependency(ModelOpsError, ImportError):
    """A feature needs an optional package that is not installed."""

    def __init__(self, feature: str, package: str) -> None:
        super().__init__(f"{feature} needs {package!r}: pip install {package}")
        self.feature = feature
        self.package = package
