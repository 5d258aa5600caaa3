"""Search filters, ordering and paging for runs, in the language of MLflow's ``search_runs``.

A filter is parsed once into an AST of frozen value objects (:class:`Filter` holding
:class:`Comparison` clauses); a store either translates that AST into its own query engine
or calls :meth:`Filter.matches` / :func:`search`, which evaluate it in pure Python with plain
attribute and dict lookups.

Grammar (keywords are case-insensitive)::

    filter      := comparison ( AND comparison )*
    comparison  := identifier operator value
    identifier  := prefix "." key  |  attribute
    prefix      := metrics | metric | params | param | tags | tag
                 | attributes | attribute | attr | run
    key         := bare-key | `back-quoted` | "double-quoted"
    bare-key    := ( letter | digit | "_" | "-" | "." | "/" )+
    operator    := "=" | "!=" | "<" | "<=" | ">" | ">=" | LIKE | ILIKE | IN | NOT IN
    value       := number | string | "(" string ( "," string )* ")"
    number      := [+-] digits [ "." digits ] [ e [+-] digits ]  |  [+-] ( nan | inf | infinity )
    string      := '...' | "..."
    order_by    := identifier [ ASC | DESC ]

* Everything after the first dot of an identifier is the key, so ``metrics.train/loss`` and
  ``params.optimizer.lr`` need no quotes; a key holding anything else (spaces, ``=`` …) is
  quoted: ``metrics.`my metric```, ``params."learning rate"``. Inside a quoted key or a
  string, a backslash escapes the quote character and itself; any other backslash is kept.
* Attributes are ``run_id``, ``run_name`` (alias ``name``), ``status``, ``start_time``
  (alias ``created``), ``end_time``, ``user`` (alias ``user_id``), ``experiment_id``,
  ``lifecycle_stage``, ``artifact_uri`` and ``parent_run_id``; a bare attribute name needs no
  prefix. ``start_time`` and ``end_time`` are numbers (epoch milliseconds), the others strings
  (``status`` holds ``'FINISHED'`` …, ``lifecycle_stage`` ``'active'`` or ``'deleted'``).
* Metrics and numeric attributes take ``= != < <= > >=`` and a number. Params, tags and
  string attributes take ``= != LIKE ILIKE IN NOT IN`` and quoted strings, as MLflow requires
  (``params.n = '200'``, not ``params.n = 200``).
* ``LIKE`` matches SQL patterns (``%`` any run of characters, ``_`` one character),
  case-sensitively; ``ILIKE`` ignores case. In a pattern a backslash makes the next character
  literal (``'50\\%'``), as PostgreSQL does.
* Comparisons are joined by ``AND`` only; ``OR`` and parentheses are refused, as in MLflow.

Semantics: a run that lacks the key never matches, not even ``!=``/``NOT IN``. A metric
compares its latest value; NaN follows IEEE rules, so it matches only ``!=``. Every parse
error is a :class:`~modelops.errors.FilterSyntaxError` whose ``position`` points at the
offending token.

Ordering (:func:`sort_runs`) is stable; a run missing the sort key comes last whether the
order is ascending or descending, NaN after every number but before missing. After the
user's keys, ties are broken by ``start_time`` descending then ``run_id`` ascending, which is
also the order when no ``order_by`` is given.

Paging (:func:`search`) hands out opaque url-safe tokens holding an offset and a fingerprint
of the query, so a token cannot be replayed against a different filter or order.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn

import attrs

from modelops._json import loads
from modelops.entities.tracking import Page, Run, RunInfo
from modelops.errors import FilterSyntaxError, InvalidInput

__all__ = [
    "ATTRIBUTES",
    "KINDS",
    "MAX_RESULTS",
    "Comparison",
    "Filter",
    "OrderBy",
    "decode_page_token",
    "encode_page_token",
    "parse_filter",
    "parse_order_by",
    "query_fingerprint",
    "search",
    "sort_runs",
]

#: The four kinds of identifier, in canonical spelling.
KINDS: tuple[str, ...] = ("metrics", "params", "tags", "attributes")

#: Canonical attribute names a filter or order_by may use.
ATTRIBUTES: tuple[str, ...] = (
    "run_id",
    "run_name",
    "status",
    "start_time",
    "end_time",
    "user",
    "experiment_id",
    "lifecycle_stage",
    "artifact_uri",
    "parent_run_id",
)

#: The largest page :func:`search` returns.
MAX_RESULTS = 50_000

_PREFIXES = {
    "metrics": "metrics",
    "metric": "metrics",
    "params": "params",
    "param": "params",
    "tags": "tags",
    "tag": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "attr": "attributes",
    "run": "attributes",
}

_ATTRIBUTE_ALIASES = {
    **{name: name for name in ATTRIBUTES},
    "name": "run_name",
    "user_id": "user",
    "created": "start_time",
}

_NUMERIC_ATTRIBUTES = frozenset({"start_time", "end_time"})

_NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
_LIST_OPS = frozenset({"IN", "NOT IN"})
_SYMBOL_OPS = frozenset(_NUMERIC_OPS)
_KEYWORDS = frozenset({"AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "ASC", "DESC"})

_NUMBER = re.compile(
    r"[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|(?:infinity|inf|nan)(?![\w]))",
    re.IGNORECASE,
)

#: The function of each numeric operator (they work on numpy arrays too).
COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

_ATTRIBUTE_LIST = ", ".join(
    f"{a} (or name)" if a == "run_name" else a for a in ATTRIBUTES
)
_IDENTIFIER_HELP = (
    "an identifier such as metrics.<key>, params.<key>, tags.<key> or attributes.<name>"
)

Value = float | str | tuple[str, ...]
_Predicate = Callable[[Run], bool]


# --------------------------------------------------------------------------- value objects


def _is_numeric(kind: str, key: str) -> bool:
    return kind == "metrics" or (kind == "attributes" and key in _NUMERIC_ATTRIBUTES)


def _check_kind_key(cls: str, kind: Any, key: Any) -> None:
    if kind not in KINDS:
        raise InvalidInput(f"expected one of {', '.join(KINDS)}, got {kind!r}",
                           field=f"{cls}.kind")
    if not isinstance(key, str) or not key:
        raise InvalidInput(f"expected a non-empty string, got {key!r}", field=f"{cls}.key")
    if kind == "attributes" and key not in ATTRIBUTES:
        raise InvalidInput(f"unknown attribute {key!r}; expected one of {', '.join(ATTRIBUTES)}",
                           field=f"{cls}.key")


_NAN_KEY = object()


def _eq_value(value: Value) -> Any:
    # NaN equals NaN here, so parse_filter(str(f)) == f holds for every filter.
    return _NAN_KEY if isinstance(value, float) and value != value else value


@attrs.frozen(eq=False)
class Comparison:
    """One clause of a filter: ``<kind>.<key> <op> <value>``.

    ``kind`` is one of ``metrics``, ``params``, ``tags``, ``attributes``; ``op`` is the
    canonical upper-case operator; ``value`` is a float for numeric comparisons, a tuple of
    strings for ``IN``/``NOT IN`` and a string otherwise. Built directly, it is validated
    like a parsed one (``InvalidInput`` naming the field).
    """

    kind: str
    key: str
    op: str
    value: Value
    _predicate: _Predicate = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        _check_kind_key("Comparison", self.kind, self.key)
        numeric = _is_numeric(self.kind, self.key)
        allowed = _NUMERIC_OPS if numeric else _STRING_OPS
        if self.op not in allowed:
            raise InvalidInput(
                f"{_subject(self.kind, self.key)} takes {', '.join(allowed)}; got {self.op!r}",
                field="Comparison.op",
            )
        value: Any = self.value
        if numeric:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidInput(f"expected a number, got {value!r}", field="Comparison.value")
            value = float(value)
        elif self.op in _LIST_OPS:
            if isinstance(value, str) or not isinstance(value, (tuple, list)) or not value \
                    or not all(isinstance(v, str) for v in value):
                raise InvalidInput(f"expected a non-empty tuple of strings, got {value!r}",
                                   field="Comparison.value")
            value = tuple(value)
        elif not isinstance(value, str):
            raise InvalidInput(f"expected a string, got {value!r}", field="Comparison.value")
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "_predicate", _compile(self.kind, self.key, self.op, value))

    def matches(self, run: Run) -> bool:
        """Whether ``run`` satisfies this clause (a missing key never does)."""
        return self._predicate(run)

    def __str__(self) -> str:
        return f"{self.kind}.{_format_key(self.key)} {self.op} {_format_value(self.value)}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Comparison):
            return NotImplemented
        return (self.kind, self.key, self.op, _eq_value(self.value)) == (
            other.kind, other.key, other.op, _eq_value(other.value))

    def __hash__(self) -> int:
        return hash((self.kind, self.key, self.op, _eq_value(self.value)))


@attrs.frozen
class Filter:
    """A parsed filter: ``clauses`` joined by AND, and the ``text`` they were parsed from.

    Two filters are equal when their clauses are; ``text`` is kept for messages only.
    ``str(filter)`` is a canonical text that parses back to an equal filter.
    """

    clauses: tuple[Comparison, ...] = attrs.field(converter=tuple)
    text: str = attrs.field(default="", eq=False)
    _predicates: tuple[_Predicate, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        for i, clause in enumerate(self.clauses):
            if not isinstance(clause, Comparison):
                raise InvalidInput(f"expected a Comparison, got {clause!r}",
                                   field=f"Filter.clauses[{i}]")
        if not self.text:
            object.__setattr__(self, "text", str(self))
        object.__setattr__(self, "_predicates", tuple(c._predicate for c in self.clauses))

    def matches(self, run: Run) -> bool:
        """Whether ``run`` satisfies every clause."""
        for predicate in self._predicates:  # noqa: SIM110 -- a plain loop is faster than all()
            if not predicate(run):
                return False
        return True

    def select(self, runs: Iterable[Run]) -> list[Run]:
        """The runs that match, in their original order."""
        predicates = self._predicates
        match = predicates[0] if len(predicates) == 1 else self.matches
        return [run for run in runs if match(run)]

    def __str__(self) -> str:
        return " AND ".join(str(c) for c in self.clauses)


@attrs.frozen
class OrderBy:
    """One ``order_by`` key: ``<kind>.<key>`` ascending or descending."""

    kind: str
    key: str
    ascending: bool = True

    def __attrs_post_init__(self) -> None:
        _check_kind_key("OrderBy", self.kind, self.key)
        if not isinstance(self.ascending, bool):
            raise InvalidInput(f"expected a bool, got {self.ascending!r}",
                               field="OrderBy.ascending")

    def __str__(self) -> str:
        return f"{self.kind}.{_format_key(self.key)} {'ASC' if self.ascending else 'DESC'}"


# --------------------------------------------------------------------------- formatting


def _is_key_char(c: str) -> bool:
    return c.isalnum() or c in "_-./"


def _escape(text: str, quote: str) -> str:
    return text.replace("\\", "\\\\").replace(quote, "\\" + quote)


def _format_key(key: str) -> str:
    if key and all(_is_key_char(c) for c in key):
        return key
    return "`" + _escape(key, "`") + "`"


def _format_number(value: float) -> str:
    if value != value:
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def _format_value(value: Value) -> str:
    if isinstance(value, float):
        return _format_number(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(_format_value(v) for v in value) + ")"
    return "'" + _escape(value, "'") + "'"


def _subject(kind: str, key: str) -> str:
    return f"{kind}.{_format_key(key)}"


# --------------------------------------------------------------------------- evaluation


def _like(pattern: str, ignore_case: bool) -> Callable[[str], Any]:
    """The test of a ``LIKE`` pattern (``%`` any run of characters, ``_`` any one, ``\\``
    escaping the next), in time linear in the value's length times the pattern's. The pieces
    between ``%`` match a fixed number of characters each, so each is found at its leftmost
    place after the one before (what any match can be moved to); one regex with a ``.*`` per
    ``%`` would backtrack exponentially on a pattern such as ``%x%x%x…y``."""
    pieces: list[list[str]] = [[]]
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            pieces[-1].append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "%":
            pieces.append([])
        else:
            pieces[-1].append("." if c == "_" else re.escape(c))
        i += 1
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    # Case-insensitive matching in re is character for character: each piece keeps its length.
    compiled = [(re.compile("".join(p), flags), len(p)) for p in pieces]
    if len(compiled) == 1:                  # no %: the whole value, character for character
        return compiled[0][0].fullmatch
    first, last = compiled[0], compiled[-1]
    middle = [(piece, size) for piece, size in compiled[1:-1] if size]

    def test(value: str) -> Any:
        end = len(value) - last[1]
        if end < first[1] or not first[0].match(value):
            return None
        at = first[1]
        for piece, _size in middle:
            found = piece.search(value, at, end)
            if found is None:
                return None
            at = found.end()
        return last[0].fullmatch(value, end)

    return test


def string_test(op: str, value: Value) -> Callable[[str], Any]:
    """The test a string operator applies to one value (truthy when it matches)."""
    if op == "=":
        return value.__eq__
    if op == "!=":
        return value.__ne__
    if op == "IN":
        return frozenset(value).__contains__
    if op == "NOT IN":
        members = frozenset(value)
        return lambda v: v not in members
    return _like(value, ignore_case=(op == "ILIKE"))  # type: ignore[arg-type]


def _attribute_getter(key: str) -> Callable[[RunInfo], Any]:
    if key in ("status", "lifecycle_stage"):
        # str enums; compare and sort by their plain value
        return lambda info: getattr(info, key).value
    return operator.attrgetter(key)


def _compile(kind: str, key: str, op: str, value: Any) -> _Predicate:
    """Turn one clause into a closure doing only dict/attribute lookups per run."""
    if kind == "metrics":
        compare = COMPARE[op]

        def metric(run: Run) -> bool:
            point = run.data.latest.get(key)
            return point is not None and compare(point.value, value)

        return metric
    if kind == "attributes":
        get = _attribute_getter(key)
        if key in _NUMERIC_ATTRIBUTES:
            compare = COMPARE[op]

            def numeric_attribute(run: Run) -> bool:
                v = get(run.info)
                return v is not None and compare(v, value)

            return numeric_attribute
        test = string_test(op, value)

        def string_attribute(run: Run) -> bool:
            v = get(run.info)
            return v is not None and bool(test(v))

        return string_attribute
    test = string_test(op, value)
    if kind == "params":

        def param(run: Run) -> bool:
            v = run.data.params.get(key)
            return v is not None and bool(test(v))

        return param

    def tag(run: Run) -> bool:
        v = run.data.tags.get(key)
        return v is not None and bool(test(v))

    return tag


# --------------------------------------------------------------------------- parsing


class _Parser:
    """A cursor over one filter or order_by text; every error carries its position."""

    __slots__ = ("n", "pos", "text", "what")

    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.n = len(text)
        self.pos = 0
        self.what = what  # "filter" or "order_by clause", for messages

    def fail(self, message: str, position: int | None = None) -> NoReturn:
        raise FilterSyntaxError(message, text=self.text,
                                position=self.pos if position is None else position)

    def got(self, position: int | None = None) -> str:
        """Describe the token at ``position`` for an error message."""
        at = self.pos if position is None else position
        if at >= self.n:
            return f"the end of the {self.what}"
        if self.text[at].isspace():
            return "whitespace"
        end = at + 1
        while end < self.n and end - at < 20 and not self.text[end].isspace():
            end += 1
        return repr(self.text[at:end])

    def skip_ws(self) -> None:
        text, pos, n = self.text, self.pos, self.n
        while pos < n and text[pos].isspace():
            pos += 1
        self.pos = pos

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < self.n else ""

    def at_end(self) -> bool:
        return self.pos >= self.n

    def word(self) -> str:
        text, start, n = self.text, self.pos, self.n
        pos = start
        while pos < n and (text[pos].isalnum() or text[pos] == "_"):
            pos += 1
        self.pos = pos
        return text[start:pos]

    def quoted(self) -> str:
        """A quoted string or key starting at the cursor, its escapes resolved."""
        text, n = self.text, self.n
        start = self.pos
        quote = text[start]
        parts: list[str] = []
        pos = start + 1
        chunk = pos
        while pos < n:
            c = text[pos]
            if c == "\\" and pos + 1 < n and text[pos + 1] in (quote, "\\"):
                parts.append(text[chunk:pos])
                parts.append(text[pos + 1])
                pos += 2
                chunk = pos
                continue
            if c == quote:
                parts.append(text[chunk:pos])
                self.pos = pos + 1
                return "".join(parts)
            pos += 1
        self.fail(f"unterminated string: no closing {quote}", start)

    # -- identifiers

    def identifier(self) -> tuple[str, str]:
        """``prefix.key`` or a bare attribute name, canonicalised to (kind, key)."""
        start = self.pos
        word = self.word()
        if not word:
            if self.peek() == "(":
                self.fail("parentheses are not supported: a filter is comparisons joined by "
                          "AND (OR is not supported)")
            self.fail(f"expected {_IDENTIFIER_HELP}, got {self.got()}")
        if self.peek() == ".":
            kind = _PREFIXES.get(word.lower())
            if kind is None:
                self.fail(f"unknown prefix {word!r}: expected metrics, params, tags or "
                          f"attributes before the dot", start)
            self.pos += 1
            key_pos = self.pos
            if self.peek() in ("`", '"'):
                key = self.quoted()
                if not key:
                    self.fail("expected a key inside the quotes, got an empty one", key_pos)
            else:
                text, pos, n = self.text, self.pos, self.n
                while pos < n and _is_key_char(text[pos]):
                    pos += 1
                self.pos = pos
                key = text[key_pos:pos]
                if not key:
                    self.fail(f"expected a key after {word}., got {self.got()}", key_pos)
        else:
            if word.upper() in _KEYWORDS:
                self.fail(f"expected {_IDENTIFIER_HELP}, got the keyword {word!r}", start)
            if word.lower() in _PREFIXES and word.lower() not in _ATTRIBUTE_ALIASES:
                self.fail(f"expected '.' and a key after {word!r}, got {self.got()}")
            kind, key, key_pos = "attributes", word, start
        if kind == "attributes":
            canonical = _ATTRIBUTE_ALIASES.get(key.lower())
            if canonical is None:
                self.fail(f"unknown attribute {key!r}: expected one of {_ATTRIBUTE_LIST}",
                          key_pos)
            key = canonical
        return kind, key

    # -- filters

    def filter(self) -> tuple[Comparison, ...]:
        self.skip_ws()
        clauses = [self.comparison()]
        while True:
            self.skip_ws()
            if self.at_end():
                return tuple(clauses)
            start = self.pos
            if self.text.startswith("||", start):
                self.fail("OR is not supported: comparisons are joined by AND only", start)
            word = self.word().upper()
            if word == "AND":
                self.skip_ws()
                if self.at_end():
                    self.fail(f"expected a comparison after AND, got {self.got()}")
                clauses.append(self.comparison())
            elif word == "OR":
                self.fail("OR is not supported: comparisons are joined by AND only", start)
            else:
                self.fail(f"expected AND or the end of the filter, got {self.got(start)}", start)

    def comparison(self) -> Comparison:
        kind, key = self.identifier()
        self.skip_ws()
        op_pos = self.pos
        op = self.operator()
        numeric = _is_numeric(kind, key)
        subject = _subject(kind, key)
        if numeric and op not in _SYMBOL_OPS:
            self.fail(f"{subject} compares numbers with =, !=, <, <=, >, >=; "
                      f"{op} is for strings", op_pos)
        if not numeric and op not in _STRING_OPS:
            self.fail(f"{subject} compares strings with =, !=, LIKE, ILIKE, IN, NOT IN; "
                      f"{op} needs a number (metrics, start_time, end_time)", op_pos)
        self.skip_ws()
        value: Value
        if numeric:
            value = self.number(subject)
        elif op in _LIST_OPS:
            value = self.string_list(subject, op)
        else:
            value = self.string(subject)
        return Comparison(kind, key, op, value)

    def operator(self) -> str:
        start = self.pos
        text, n = self.text, self.n
        c = self.peek()
        if c and c in "=!<>":
            pos = start
            while pos < n and text[pos] in "=!<>":
                pos += 1
            symbol = text[start:pos]
            if symbol in _SYMBOL_OPS:
                self.pos = pos
                return symbol
            self.fail(f"expected a comparison operator (=, !=, <, <=, >, >=), got {symbol!r}",
                      start)
        word = self.word().upper()
        if word in ("LIKE", "ILIKE", "IN"):
            return word
        if word == "NOT":
            self.skip_ws()
            second = self.pos
            if self.word().upper() == "IN":
                return "NOT IN"
            self.fail(f"expected IN after NOT, got {self.got(second)}", second)
        self.fail("expected a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, "
                  f"NOT IN), got {self.got(start)}", start)

    def number(self, subject: str) -> float:
        start = self.pos
        if self.peek() in ("'", '"'):
            self.fail(f"{subject} is numeric: expected a number such as 0.5, got a string")
        match = _NUMBER.match(self.text, start)
        if match is None:
            self.fail(f"expected a number for {subject}, got {self.got()}")
        self.pos = match.end()
        return float(match.group())

    def string(self, subject: str) -> str:
        if self.peek() in ("'", '"'):
            return self.quoted()
        if _NUMBER.match(self.text, self.pos):
            self.fail(f"{subject} is a string: expected a quoted value, as in "
                      f"{subject} = '200', got {self.got()}")
        self.fail(f"expected a quoted string for {subject}, got {self.got()}")

    def string_list(self, subject: str, op: str) -> tuple[str, ...]:
        if self.peek() != "(":
            self.fail(f"{op} takes a parenthesised list of quoted strings such as "
                      f"('a', 'b'), got {self.got()}")
        self.pos += 1
        items: list[str] = []
        self.skip_ws()
        if self.peek() == ")":
            self.fail(f"{op} needs at least one quoted string in its list")
        while True:
            self.skip_ws()
            items.append(self.string(subject))
            self.skip_ws()
            c = self.peek()
            self.pos += 1
            if c == ")":
                return tuple(items)
            if c != ",":
                self.fail(f"expected ',' or ')' in the {op} list, got {self.got(self.pos - 1)}",
                          self.pos - 1)

    # -- order_by

    def order_by(self) -> OrderBy:
        self.skip_ws()
        if self.at_end():
            self.fail(f"expected {_IDENTIFIER_HELP} to order by, got an empty clause")
        kind, key = self.identifier()
        self.skip_ws()
        ascending = True
        if not self.at_end():
            start = self.pos
            direction = self.word().upper()
            if direction not in ("ASC", "DESC"):
                self.fail(f"expected ASC, DESC or the end of the clause, got {self.got(start)}",
                          start)
            ascending = direction == "ASC"
            self.skip_ws()
            if not self.at_end():
                self.fail(f"expected the end of the clause after {direction}, got {self.got()}")
        return OrderBy(kind, key, ascending)


@functools.lru_cache(maxsize=512)
def _parse_filter_cached(text: str) -> Filter:
    return Filter(_Parser(text, "filter").filter(), text)


def parse_filter(text: str | None) -> Filter | None:
    """Parse MLflow-style filter text; ``None`` or blank text gives ``None`` (match all).

    Raises ``FilterSyntaxError`` (an ``InvalidInput``) with the position of the offending
    token. Parsed filters are immutable and cached, so parsing the same text again is free.
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise InvalidInput(f"expected a string or None, got {type(text).__name__}",
                           field="filter")
    if not text.strip():
        return None
    return _parse_filter_cached(text)


def parse_order_by(clauses: Sequence[str] | None) -> tuple[OrderBy, ...]:
    """Parse ``order_by`` strings such as ``"metrics.f1 DESC"`` or ``"start_time"`` (ASC).

    A bare attribute name needs no prefix. Errors are ``FilterSyntaxError`` whose position
    is within the offending clause.
    """
    if clauses is None:
        return ()
    if isinstance(clauses, str):
        clauses = [clauses]
    elif not isinstance(clauses, (list, tuple)):
        raise InvalidInput(f"expected a clause or a list of clauses, got "
                           f"{type(clauses).__name__}", field="order_by")
    result = []
    for i, clause in enumerate(clauses):
        if not isinstance(clause, str):
            raise InvalidInput(f"expected a string, got {type(clause).__name__}",
                               field=f"order_by[{i}]")
        result.append(_Parser(clause, "order_by clause").order_by())
    return tuple(result)


# --------------------------------------------------------------------------- ordering


def _sort_value(order: OrderBy) -> Callable[[Run], Any]:
    key, kind = order.key, order.kind
    if kind == "metrics":

        def metric(run: Run) -> Any:
            point = run.data.latest.get(key)
            return None if point is None else point.value

        return metric
    if kind == "params":
        return lambda run: run.data.params.get(key)
    if kind == "tags":
        return lambda run: run.data.tags.get(key)
    get = _attribute_getter(key)
    return lambda run: get(run.info)


def _sort_key(order: OrderBy) -> Callable[[Run], tuple[int, Any]]:
    """A key putting present values first (in order), then NaN, then missing.

    Descending sorts use ``reverse=True`` (which Python keeps stable), so the group rank is
    flipped there to keep NaN and missing values last.
    """
    value_of = _sort_value(order)
    present, nan, missing = (0, 1, 2) if order.ascending else (2, 1, 0)

    def key(run: Run) -> tuple[int, Any]:
        v = value_of(run)
        if v is None:
            return (missing, 0)
        if v != v:
            return (nan, 0)
        return (present, v)

    return key


def _default_sort_key(run: Run) -> tuple[int, str]:
    # start_time DESC, run_id ASC in one pass
    info = run.info
    return (-info.start_time, info.run_id)


def sort_runs(runs: Iterable[Run], order_by: Sequence[OrderBy]) -> list[Run]:
    """Sort runs by ``order_by`` then by start_time DESC and run_id ASC (MLflow's default).

    The sort is stable. A run missing a key sorts last in either direction; NaN sorts after
    every number and before missing values.
    """
    result = list(runs)
    result.sort(key=_default_sort_key)
    for order in reversed(tuple(order_by or ())):
        result.sort(key=_sort_key(order), reverse=not order.ascending)
    return result


# --------------------------------------------------------------------------- paging


def query_fingerprint(filter: Filter | None, order_by: Sequence[OrderBy]) -> str:
    """A short digest of a query (canonical filter and order), bound into its page tokens."""
    canonical = (str(filter) if filter is not None else "") + "\x00" + "\x00".join(
        str(order) for order in (order_by or ()))
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=6).hexdigest()


def encode_page_token(offset: int, fingerprint: str) -> str:
    """An opaque url-safe token for the page starting at ``offset`` of query ``fingerprint``."""
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInput(f"expected a non-negative integer, got {offset!r}", field="offset")
    payload = json.dumps({"o": offset, "q": fingerprint}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode("utf-8")).decode("ascii").rstrip("=")


def decode_page_token(token: str, fingerprint: str) -> int:
    """The offset in ``token``; ``InvalidInput`` naming page_token if it is malformed or was
    issued for a different query than ``fingerprint``."""
    if not isinstance(token, str):
        raise InvalidInput(f"expected a string, got {type(token).__name__}", field="page_token")
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        payload = loads(raw.decode("utf-8"))
        offset, owner = payload["o"], payload["q"]
    except (ValueError, binascii.Error, UnicodeError, KeyError, TypeError):
        raise InvalidInput(f"malformed page token {token[:40]!r}", field="page_token") from None
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0 \
            or not isinstance(owner, str):
        raise InvalidInput(f"malformed page token {token[:40]!r}", field="page_token")
    if owner != fingerprint:
        raise InvalidInput("this page token belongs to another query (the filter or order_by "
                           "changed); start again without a token", field="page_token")
    return offset


def check_page(max_results: Any, page_token: Any, filter: Filter | None,
               order_by: Sequence[OrderBy]) -> int:
    """Check a page request before anything is read; the offset the token points to."""
    if isinstance(max_results, bool) or not isinstance(max_results, int) \
            or not 1 <= max_results <= MAX_RESULTS:
        raise InvalidInput(f"expected an integer from 1 to {MAX_RESULTS}, got {max_results!r}",
                           field="max_results")
    if page_token is not None and not isinstance(page_token, str):
        raise InvalidInput(f"expected the token of a previous page, got {page_token!r}",
                           field="page_token")
    if not page_token:
        return 0
    return decode_page_token(page_token, query_fingerprint(filter, tuple(order_by or ())))


def rank(runs: Iterable[Any], filter: Filter | None, order_by: Sequence[OrderBy]) -> list[Any]:
    """The runs that match ``filter``, in ``order_by``'s order (see :func:`sort_runs`). A
    "run" is anything with a Run's ``info`` and ``data`` attributes."""
    return sort_runs(list(runs) if filter is None else filter.select(runs), order_by)


def page_of(ranked: Sequence[Any], offset: int, max_results: int, filter: Filter | None,
            order_by: Sequence[OrderBy]) -> tuple[Sequence[Any], str | None]:
    """The page of ``ranked`` (matches in order) from ``offset``, and the token of the next
    page (None after the last)."""
    end = offset + max_results
    token = encode_page_token(end, query_fingerprint(filter, tuple(order_by or ()))) \
        if end < len(ranked) else None
    return ranked[offset:end], token


def search(
    runs: Iterable[Run],
    filter: Filter | None,
    order_by: Sequence[OrderBy],
    max_results: int,
    page_token: str | None,
) -> Page:
    """Filter, sort and page ``runs``: the evaluator stores without a query engine call.

    ``max_results`` must be 1..50,000. ``page_token`` is ``None`` (or empty) for the first
    page, else the token of the previous page; the last page has token ``None``.
    """
    order = tuple(order_by or ())
    offset = check_page(max_results, page_token, filter, order)
    items, token = page_of(rank(runs, filter, order), offset, max_results, filter, order)
    return Page(items, token)
