"""Value objects of the model registry: semantic versions, models, versions, events, decisions.

A version's record is immutable once registered. Everything that changes — stages, aliases,
tags, descriptions — is an event in the model's append-only trail, and the current state is
folded from those events.
"""

from __future__ import annotations

import enum
import functools
import math
import numbers
import re
from typing import Any, Protocol, runtime_checkable

import attrs

from modelops.entities._frozen import FrozenDict, freeze
from modelops.entities.datasets import Dataset, check_schema, dataset_from_data
from modelops.entities.display import html_of
from modelops.entities.validators import (
    MAX_TAG_VALUE_LENGTH,
    check_key,
    check_name,
    check_str_mapping,
)
from modelops.errors import InvalidInput

__all__ = [
    "ArtifactFile",
    "Change",
    "Decision",
    "Flavor",
    "Lineage",
    "ModelVersion",
    "RegisteredModel",
    "RegistryEvent",
    "SemVer",
    "Stage",
]

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$",
    re.ASCII,  # \d is 0-9 only: "1.0.1٣" is not a version
)


@functools.total_ordering
@attrs.frozen(eq=False)
class SemVer:
    """A semantic version (semver 2.0): ``MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]``.

    Ordering is semver precedence: pre-releases sort before their release
    (``1.0.0-rc.1 < 1.0.0``), numeric identifiers compare as numbers, and build metadata is
    ignored — ``1.0.0+a`` and ``1.0.0+b`` are the same version to the registry.
    """

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: str = ""
    # Computed once: versions are compared often (every register picks the highest).
    _key: tuple[Any, ...] = attrs.field(init=False, repr=False)

    @_key.default
    def _precedence(self) -> tuple[Any, ...]:
        # Identifiers: numbers sort before words and among themselves numerically; a release
        # (no pre-release) sorts after every pre-release of it.
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 1 if not pre else 0, pre)

    @classmethod
    def parse(cls, text: Any) -> SemVer:
        """Parse a version string; ``InvalidInput`` naming the rule it breaks."""
        if isinstance(text, SemVer):
            return text
        if not isinstance(text, str):
            raise InvalidInput(f"expected a string like '1.2.0', got {text!r}", field="version")
        match = _SEMVER.match(text.strip())
        if match is None:
            raise InvalidInput(
                f"{text!r} is not a semantic version (MAJOR.MINOR.PATCH, optional "
                "-prerelease and +build, no leading zeros)", field="version")
        major, minor, patch, pre, build = match.groups()
        return cls(int(major), int(minor), int(patch), tuple(pre.split(".")) if pre else (),
                   build or "")

    @property
    def core(self) -> str:
        """The version without build metadata: the registry's identity of a version."""
        pre = "-" + ".".join(self.prerelease) if self.prerelease else ""
        return f"{self.major}.{self.minor}.{self.patch}{pre}"

    def __str__(self) -> str:
        return self.core + (f"+{self.build}" if self.build else "")

    def bump(self, part: str) -> SemVer:
        """The next version: ``"major"``, ``"minor"`` or ``"patch"``. A pre-release bumped at
        patch becomes its release (``1.2.0-rc.1`` → ``1.2.0``), as npm does."""
        if part == "major":
            return SemVer(self.major + 1, 0, 0)
        if part == "minor":
            return SemVer(self.major, self.minor + 1, 0)
        if part == "patch":
            if self.prerelease:
                return SemVer(self.major, self.minor, self.patch)
            return SemVer(self.major, self.minor, self.patch + 1)
        raise InvalidInput(f"expected 'major', 'minor' or 'patch', got {part!r}", field="bump")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._key == other._key

    def __lt__(self, other: SemVer) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._key < other._key

    def __gt__(self, other: SemVer) -> bool:  # max() asks for it; the derived one is slow
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._key > other._key

    def __hash__(self) -> int:
        return hash(self._key)


class Stage(str, enum.Enum):
    """Where a version is in its life. ``production`` is held by one version at a time."""

    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"
    ARCHIVED = "archived"
    FAILED = "failed"

    @classmethod
    def parse(cls, value: Any) -> Stage:
        try:
            return cls(value.lower() if isinstance(value, str) else value)
        except ValueError:
            choices = ", ".join(s.value for s in cls)
            raise InvalidInput(f"expected one of {choices}, got {value!r}",
                               field="stage") from None

    @classmethod
    def is_stage(cls, value: Any) -> bool:
        return isinstance(value, str) and value in cls._value2member_map_


def is_version(text: Any) -> bool:
    """Whether ``text`` is a version as the registry records it: a semantic version without
    build metadata (a check for version numbers read back from storage)."""
    return isinstance(text, str) and "+" not in text and _SEMVER.fullmatch(text) is not None


def check_alias(value: Any, field: str = "alias") -> str:
    """An alias (``champion``) is a name that is not a stage and has no ``@`` or ``/``."""
    check_name(value, field)
    if "@" in value or Stage.is_stage(value.lower()) or value.lower() == "latest":
        raise InvalidInput(f"{value!r} is a stage, 'latest', or holds '@'; choose another alias",
                           field=field)
    return value


def _field(inst: Any, attribute: attrs.Attribute[Any]) -> str:
    return f"{type(inst).__name__}.{attribute.name}"


def _valid_name(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_name(value, _field(inst, attribute))
    if "@" in value:
        raise InvalidInput(f"must not contain '@' (it separates aliases in model URIs), "
                           f"got {value!r}", field=_field(inst, attribute))


def _valid_tags(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_str_mapping(value, _field(inst, attribute), MAX_TAG_VALUE_LENGTH)


def check_metrics(metrics: Any, *, allow_nonfinite: bool = False,
                  field: str = "metrics") -> dict[str, float]:
    """Validate model metrics: keys as metric keys, values finite numbers unless allowed."""
    if metrics is None:
        return {}
    if not hasattr(metrics, "items"):
        raise InvalidInput(f"expected a mapping, got {type(metrics).__name__}", field=field)
    out = {}
    for key, value in metrics.items():
        check_key(key, f"{field} key")
        if isinstance(value, bool) or (not isinstance(value, (int, float)) and \
                not hasattr(value, "__float__")):
            raise InvalidInput(f"expected a number, got {value!r}", field=f"{field}[{key!r}]")
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidInput(f"expected a number that fits a 64-bit float, got {value!r} "
                               f"({exc})", field=f"{field}[{key!r}]") from None
        if not allow_nonfinite and not math.isfinite(number):
            raise InvalidInput(f"expected a finite number, got {number!r} (pass "
                               "allow_nonfinite=True to keep it)", field=f"{field}[{key!r}]")
        out[key] = number
    return out


@attrs.frozen(kw_only=True)
class RegisteredModel:
    """A named model: the versions registered under it share its name."""

    name: str = attrs.field(validator=_valid_name)
    created_time: int = 0
    creator: str = ""
    description: str = ""
    tags: FrozenDict[str, str] = attrs.field(factory=FrozenDict, converter=freeze,
                                             validator=_valid_tags)
    deleted: bool = False


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _valid_sha256(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    # Digests name stored blobs: only 64 lowercase hex digits may ever become a path.
    if not isinstance(value, str) or not _SHA256.match(value):
        raise InvalidInput(f"expected 64 lowercase hex digits, got {value!r}",
                           field="ArtifactFile.sha256")


def _valid_path(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_key(value, "ArtifactFile.path")


@attrs.frozen
class ArtifactFile:
    """One file of a version's artifact: its path (relative), sha256 digest and size."""

    path: str = attrs.field(validator=_valid_path)
    sha256: str = attrs.field(validator=_valid_sha256)
    size: int = 0


def _datasets(value: Any) -> tuple[Dataset, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise InvalidInput(f"expected a list of datasets, got {type(value).__name__}",
                           field="lineage.datasets")
    try:
        return tuple(dataset_from_data(d).link() for d in value)
    except TypeError as exc:
        raise InvalidInput(str(exc), field="lineage.datasets") from None


@attrs.frozen(kw_only=True)
class Lineage:
    """Where a version came from."""

    parent_version: str | None = None
    training_data: str | None = None   # a digest or a URI of the training data
    notes: str = ""
    #: The datasets the version's run logged (``run.log_input``), without their schemas.
    datasets: tuple[Dataset, ...] = attrs.field(default=(), converter=_datasets)


#: Rows of an input example kept with a version: enough to show a request, small to store.
MAX_EXAMPLE_ROWS = 5


def _freeze_signature(value: Any) -> Any:
    return None if value is None else freeze(value)


def _valid_signature(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_schema(value, "signature")


def _freeze_example(value: Any) -> tuple[FrozenDict[str, Any], ...]:
    if value is None:
        return ()
    if isinstance(value, dict) or not isinstance(value, (list, tuple)):
        raise InvalidInput("expected a list of records (column -> value)",
                           field="input_example")
    rows = []
    for i, row in enumerate(value):
        if not isinstance(row, dict) or not all(isinstance(k, str) for k in row):
            raise InvalidInput(f"expected a record (column -> value), got {row!r}",
                               field=f"input_example[{i}]")
        rows.append(freeze(row))
    if len(rows) > MAX_EXAMPLE_ROWS:
        raise InvalidInput(f"holds {len(rows)} rows, more than {MAX_EXAMPLE_ROWS}",
                           field="input_example")
    return tuple(rows)


_DISTRIBUTION = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?$")
_REQUIREMENT_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+!_-]{0,99}$")
#: Distributions a version may list as needed to load it.
MAX_REQUIREMENTS = 100


def check_requirements(value: Any) -> dict[str, str]:
    """``{distribution: version}``: names and versions as pip writes them, nothing a
    ``requirements.txt`` line could smuggle (spaces, ``;``, newlines, URLs)."""
    if not isinstance(value, dict):
        raise InvalidInput(f"expected a mapping of distribution to version, got "
                           f"{type(value).__name__}", field="requirements")
    if len(value) > MAX_REQUIREMENTS:
        raise InvalidInput(f"lists {len(value)} distributions, more than {MAX_REQUIREMENTS}",
                           field="requirements")
    for name, version in value.items():
        if not isinstance(name, str) or not _DISTRIBUTION.match(name):
            raise InvalidInput(f"expected a distribution name, got {name!r}",
                               field="requirements")
        if not isinstance(version, str) or not _REQUIREMENT_VERSION.match(version):
            raise InvalidInput(f"expected a version, got {version!r}",
                               field=f"requirements[{name!r}]")
    return dict(value)


def _valid_requirements(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_requirements(value)


def _valid_metrics(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    # A record read back from storage is untrusted: every reader of metrics does arithmetic.
    for key, number in value.items():
        if not isinstance(key, str) or isinstance(number, bool) or \
                not isinstance(number, numbers.Real):
            raise InvalidInput(f"metric {key!r} is {number!r}, not a number", field="metrics")


@attrs.frozen(kw_only=True)
class ModelVersion:
    """A registered version. Its record never changes; ``stage``, ``aliases``, ``tags`` and
    ``description`` are the current state folded from the model's events.

    ``signature`` is the input the model takes — the plain form of a
    ``modelops.validation.Schema``: column names in order, kinds, dtypes, nullability,
    categories seen — inferred from the training frame at registration when one is known
    (None for versions registered without one). ``input_example`` holds a few input rows.

    ``requirements`` is what loading it needs: ``{distribution: version}`` as installed
    where the model was saved, and ``python`` (see ``modelops.environment``);
    ``pip_requirements`` writes it as ``requirements.txt`` lines.
    """

    name: str = attrs.field(validator=_valid_name)
    version: str
    run_id: str | None = None
    metrics: FrozenDict[str, float] = attrs.field(factory=FrozenDict, converter=freeze,
                                                  validator=_valid_metrics)
    params: FrozenDict[str, str] = attrs.field(factory=FrozenDict, converter=freeze)
    framework: str = ""
    flavor: str = ""
    files: tuple[ArtifactFile, ...] = attrs.field(default=(), converter=tuple)
    size: int = 0
    created_time: int = 0
    creator: str = ""
    lineage: Lineage = attrs.field(factory=Lineage)
    flavor_meta: FrozenDict[str, Any] = attrs.field(factory=FrozenDict, converter=freeze)
    artifact_location: str = ""
    description: str = ""
    tags: FrozenDict[str, str] = attrs.field(factory=FrozenDict, converter=freeze)
    stage: Stage = Stage.DEVELOPMENT
    aliases: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    signature: FrozenDict[str, Any] | None = attrs.field(
        default=None, converter=_freeze_signature, validator=_valid_signature)
    input_example: tuple[FrozenDict[str, Any], ...] = attrs.field(default=(),
                                                                  converter=_freeze_example)
    requirements: FrozenDict[str, str] = attrs.field(factory=FrozenDict, converter=freeze,
                                                     validator=_valid_requirements)

    @property
    def pip_requirements(self) -> list[str]:
        """``requirements`` as pip pins (``scikit-learn==1.5.2``), Python left out."""
        return [f"{k}=={v}" for k, v in self.requirements.items() if k != "python"]

    @property
    def semver(self) -> SemVer:
        return SemVer.parse(self.version)

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    def _repr_html_(self) -> str:
        return html_of(self)


@attrs.frozen
class Change:
    """One effect of an event: ``version``'s ``field`` (``"stage"`` or ``"alias:<name>"``)
    went from ``before`` to ``after`` (None: absent)."""

    version: str
    field: str
    before: str | None
    after: str | None


@attrs.frozen(kw_only=True)
class Decision:
    """What a promotion rule decided, and why."""

    promote: bool
    reason: str
    candidate: str | None = None
    incumbent: str | None = None
    deltas: FrozenDict[str, float] = attrs.field(factory=FrozenDict, converter=freeze)

    def __bool__(self) -> bool:
        return self.promote

    def to_dict(self) -> dict[str, Any]:
        return {"promote": self.promote, "reason": self.reason, "candidate": self.candidate,
                "incumbent": self.incumbent, "deltas": dict(self.deltas)}


@attrs.frozen(kw_only=True)
class RegistryEvent:
    """An entry of a model's audit trail: who did what, when, why.

    ``seq`` numbers a model's events 1, 2, 3 … with no gap: each is claimed with an exclusive
    create, so two concurrent promotions are ordered and the second sees the first.
    ``action`` is ``promote``, ``rollback``, ``archive``, ``set_alias``, ``remove_alias``,
    ``refused``, ``tag``, ``describe``, ``delete_model`` or ``restore_model``; retraining
    cycles add ``cycle_started`` and ``cycle_finished`` (``modelops.lifecycle.lease``).
    """

    model: str
    seq: int
    action: str
    changes: tuple[Change, ...] = attrs.field(default=(), converter=tuple)
    actor: str = ""
    timestamp: int = 0
    reason: str | None = None
    decision: Decision | None = None
    payload: FrozenDict[str, Any] = attrs.field(factory=FrozenDict, converter=freeze)

    def _repr_html_(self) -> str:
        return html_of(self)


# What the registry's fold (``modelops.registry.state``) and the retraining log
# (``modelops.lifecycle``) read from an event's payload, by action: key -> type.
_PAYLOADS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "promote": {"version": str},
    "set_alias": {"version": str},
    "tag": {"set": dict},
    "describe": {"description": str},
    "cycle_started": {"cycle": str, "expires_at": int},
}
_OPTIONAL: dict[str, type | tuple[type, ...]] = {"target": str, "version": str,
                                                 "unset": (tuple, list), "cycle": str}


def check_event(event: RegistryEvent) -> RegistryEvent:
    """``event`` if its fields have the types every reader of a history relies on, else
    ``ValueError`` saying what is wrong. Events built by modelops always do; this checks
    events read back from storage (what a payload means is ``check_payload``'s)."""
    if type(event.seq) is not int or event.seq < 1:
        raise ValueError(f"seq {event.seq!r} is not a positive integer")
    if not isinstance(event.model, str) or not isinstance(event.action, str) \
            or not isinstance(event.actor, str):
        raise ValueError("model, action and actor must be strings")
    if type(event.timestamp) is not int or not (event.reason is None or
                                                isinstance(event.reason, str)):
        raise ValueError("timestamp must be an integer and reason a string")
    for change in event.changes:
        if not (isinstance(change.version, str) and isinstance(change.field, str)
                and all(x is None or isinstance(x, str) for x in (change.before, change.after))):
            raise ValueError(f"change {change!r} is not made of strings")
        if change.field == "stage" and change.after is not None \
                and not Stage.is_stage(change.after):
            raise ValueError(f"change {change!r} names no stage")
    if event.decision is not None and not (isinstance(event.decision.promote, bool)
                                           and isinstance(event.decision.reason, str)):
        raise ValueError(f"decision {event.decision!r} is not a decision")
    return event


def check_payload(event: RegistryEvent) -> RegistryEvent:
    """``event`` if its payload holds what folding its action reads (the registry's state,
    the retraining log), else ``ValueError`` saying what is wrong. A store keeps any
    payload; a reader skips an event that fails this rather than break on it."""
    payload = event.payload
    wanted = dict(_PAYLOADS.get(event.action, {}))
    if event.action in ("promote", "set_alias") and "target" not in payload:
        wanted.pop("version")  # nothing to hold: the version is not read
    for key, kind in {**_OPTIONAL, **wanted}.items():
        value = payload.get(key)
        if value is None and key not in wanted:
            continue
        if type(value) is bool or not isinstance(value, kind):
            raise ValueError(f"payload[{key!r}] is {value!r}")
    if event.action == "tag" and not (all(isinstance(v, str) for v in payload["set"].values())
                                      and all(isinstance(k, str)
                                              for k in payload.get("unset") or ())):
        raise ValueError("the payload of a tag event must map strings to strings")
    return event


@runtime_checkable
class Flavor(Protocol):
    """A serializer for one kind of model (the ``modelops_model_flavors`` hook's payload)."""

    name: str

    def detect(self, obj: Any) -> str | None:
        """The framework name if this flavor can save ``obj``, else None."""

    def save(self, obj: Any, directory: str) -> dict[str, Any]:
        """Write ``obj`` as files into ``directory``; return metadata kept with the version."""

    def load(self, directory: str, meta: dict[str, Any], trusted: bool) -> Any:
        """Rebuild the model from the (already verified) files in ``directory``."""

    # Optional: ``in_place(obj) -> (meta, {path in version: local file})`` when the model
    # already is files that ``save`` would only copy; registering then reads them in place.
    # Optional: ``load_bytes(data, meta, trusted)`` for a model saved as one file: loading
    # then verifies and deserializes the bytes in memory, with no temporary directory.
