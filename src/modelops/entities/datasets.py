"""Datasets a run used: what ``run.log_input`` records, and what a model version links to.

A ``Dataset`` names a frame (``name``, unique within its run), identifies its content
(``digest``), says where it came from (``source``, any URI or path the user gives) and what
it was for (``context``: ``training``, ``evaluation`` …), and describes it (``rows`` and
``schema``: the plain form of ``modelops.validation.Schema``). A version's lineage keeps its
run's datasets without their schema (that stays with the run).
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from modelops.entities._frozen import FrozenDict, freeze
from modelops.entities.plain import to_plain
from modelops.entities.validators import check_key, check_name, check_value
from modelops.errors import InvalidInput

__all__ = ["Dataset", "check_schema"]

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_SCHEMA_KINDS = ("numeric", "categorical")
#: Longest source URI kept (a query string or a long path, not a document).
MAX_SOURCE_LENGTH = 2_000


def check_schema(value: Any, field: str = "signature") -> None:
    """A schema is the plain form of ``modelops.validation.Schema``: checked here for the
    shape every reader relies on (names, kinds, dtypes, nullability), as stored records are."""
    if value is None:
        return
    columns = value.get("columns") if isinstance(value, dict) else None
    if not isinstance(columns, (list, tuple)) or not columns:
        raise InvalidInput("expected a non-empty list of columns", field=f"{field}.columns")
    names = set()
    for i, col in enumerate(columns):
        where = f"{field}.columns[{i}]"
        if not isinstance(col, dict):
            raise InvalidInput(f"expected a mapping, got {col!r}", field=where)
        name = col.get("name")
        if not isinstance(name, str) or not name or name in names:
            raise InvalidInput(f"expected a new non-empty column name, got {name!r}", field=where)
        names.add(name)
        if col.get("kind") not in _SCHEMA_KINDS or not isinstance(col.get("dtype"), str) \
                or not isinstance(col.get("nullable", False), bool):
            raise InvalidInput("needs a kind (numeric or categorical), a dtype and a boolean "
                               "nullable", field=where)


def _valid_digest(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not _DIGEST.match(value):
        raise InvalidInput(f"expected a sha256 hex digest, got {value!r}", field="digest")


def _valid_source(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        check_value(value, "source", MAX_SOURCE_LENGTH)
        if not isinstance(value, str) or not value:
            raise InvalidInput(f"expected a URI or a path, got {value!r}", field="source")


def _valid_rows(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if type(value) is not int or value < 0:
        raise InvalidInput(f"expected a count of rows, got {value!r}", field="rows")


def _valid_schema(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_schema(value, "schema")


def _valid_run_id(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        check_name(value, "run_id")


@attrs.frozen(kw_only=True)
class Dataset:
    """A dataset a run logged with ``log_input``; see the module docstring."""

    name: str = attrs.field(validator=lambda i, a, v: check_name(v, "name"))
    digest: str = attrs.field(validator=_valid_digest)
    rows: int = attrs.field(validator=_valid_rows)
    context: str = attrs.field(default="training",
                               validator=lambda i, a, v: check_key(v, "context"))
    source: str | None = attrs.field(default=None, validator=_valid_source)
    schema: FrozenDict[str, Any] | None = attrs.field(   # long: left out of the repr
        default=None, converter=lambda v: None if v is None else freeze(v),
        validator=_valid_schema, repr=False)
    run_id: str | None = attrs.field(default=None, validator=_valid_run_id)
    logged_time: int = attrs.field(default=0, validator=attrs.validators.instance_of(int))

    @property
    def columns(self) -> list[str]:
        """The column names, in order (empty for a lineage entry, which keeps no schema)."""
        return [c["name"] for c in self.schema["columns"]] if self.schema else []

    @property
    def uri(self) -> str:
        """``runs:/<run_id>/datasets/<name>``: what ``ops.drift.fit_reference(dataset=)`` and
        ``ops.tracking.get_input`` take."""
        return f"runs:/{self.run_id}/datasets/{self.name}"

    def link(self) -> Dataset:
        """This dataset as a version's lineage keeps it: without the schema."""
        return attrs.evolve(self, schema=None)


def dataset_from_data(data: Any) -> Dataset:
    """A Dataset from its plain form (fields a newer writer added are ignored); ``TypeError``
    or ``InvalidInput`` when malformed."""
    if isinstance(data, Dataset):
        return data
    if not isinstance(data, dict):
        raise TypeError(f"expected a JSON object, got {type(data).__name__}")
    names = attrs.fields_dict(Dataset)
    return Dataset(**{k: v for k, v in data.items() if k in names})


def dataset_to_data(dataset: Dataset) -> dict[str, Any]:
    return {"name": dataset.name, "digest": dataset.digest, "rows": dataset.rows,
            "context": dataset.context, "source": dataset.source,
            "schema": None if dataset.schema is None else to_plain(dataset.schema),
            "run_id": dataset.run_id, "logged_time": dataset.logged_time}


def parse_uri(uri: Any) -> tuple[str, str]:
    """The run id and name in a logged dataset's URI, ``runs:/<run_id>/datasets/<name>``."""
    parts = uri.split("/") if isinstance(uri, str) else []
    if len(parts) != 4 or parts[0] != "runs:" or parts[2] != "datasets":
        raise InvalidInput(f"expected runs:/<run_id>/datasets/<name>, got {uri!r}",
                           field="dataset")
    return check_name(parts[1], "run_id"), check_name(parts[3], "name")

