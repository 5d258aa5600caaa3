"""Hypothesis strategies for modelops value objects, valid by construction.

Every strategy draws values the entities and stores must accept: they respect the limits of
``modelops.entities.validators`` (name and key lengths, forbidden characters, value
lengths). ``invalid_names()`` and ``invalid_keys()`` draw what must be refused.

For the model registry: ``model_names()``, ``semvers()`` (and ``invalid_semvers()``),
``aliases()``, ``changes()``, ``decisions()``, ``payloads()`` and ``registry_events()``.

Hostile input, which every public call must refuse with a modelops error or take safely:
``hostile_names()`` (traversal, separators, NUL, lone surrogates, 10,000 characters,
``?versionId=``), ``hostile_numbers()`` (huge ints, NaN, ±inf, numpy scalars and arrays,
Decimals, complex) and ``hostile_values()`` (those and wrong types of every kind).

    from hypothesis import given
    from modelops.testing import strategies as mst

    @given(mst.names(), mst.metric_series())
    def test_round_trip(name, series): ...

Needs hypothesis.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from modelops.entities import (
    Experiment,
    LifecycleStage,
    Metric,
    MetricSeries,
    Run,
    RunData,
    RunInfo,
    RunStatus,
)
from modelops.entities.registry import (
    Change,
    Decision,
    RegistryEvent,
    Stage,
    check_alias,
)
from modelops.entities.validators import (
    MAX_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PARAM_VALUE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    check_key,
    check_name,
)
from modelops.errors import InvalidInput

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "REGISTRY_ACTIONS",
    "SPECIAL_FLOATS",
    "aliases",
    "changes",
    "decisions",
    "experiments",
    "hostile_names",
    "hostile_numbers",
    "hostile_values",
    "ids",
    "invalid_keys",
    "invalid_names",
    "invalid_semvers",
    "keys",
    "metric_series",
    "metric_values",
    "metrics",
    "model_names",
    "names",
    "param_values",
    "params",
    "payloads",
    "registry_events",
    "run_infos",
    "runs",
    "semvers",
    "statuses",
    "steps",
    "tag_values",
    "tags",
    "timestamps",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

#: Float values a store is most likely to mangle; each must round-trip exactly.
SPECIAL_FLOATS: tuple[float, ...] = (
    math.nan, math.inf, -math.inf, 0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308,
    1e-308, 1.7976931348623157e308, -1.7976931348623157e308, 0.1, 1 / 3, 2.0**53 + 2,
)

# Control characters the validators refuse (C0 and DEL); C1 characters are allowed.
_CONTROL = "".join(chr(c) for c in range(0x20)) + "\x7f"


def _valid(check: Any, value: Any) -> bool:
    try:
        check(value, "value")
    except InvalidInput:
        return False
    return True


def _segment_chars() -> st.SearchStrategy[str]:
    """Characters allowed in a name or a key segment: no separators or control chars."""
    return st.characters(codec="utf-8", exclude_characters=_CONTROL + "/\\")


def names(*, min_size: int = 1, max_size: int = MAX_NAME_LENGTH,
          alphabet: st.SearchStrategy[str] | str | None = None) -> st.SearchStrategy[str]:
    """Valid experiment or run names: 1 to ``MAX_NAME_LENGTH`` characters of any script,
    no '/', '\\', NUL or control characters, not '.' or '..', no leading or trailing
    whitespace. Dots, spaces inside, glob and URL characters are all drawn."""
    if min_size < 1 or max_size > MAX_NAME_LENGTH or min_size > max_size:
        raise ValueError(f"need 1 <= min_size <= max_size <= {MAX_NAME_LENGTH}")
    chars = _segment_chars() if alphabet is None else alphabet
    return (
        st.text(chars, min_size=min_size, max_size=max_size)
        .map(str.strip)
        .filter(lambda s: len(s) >= min_size and _valid(check_name, s))
    )


def ids() -> st.SearchStrategy[str]:
    """Ids shaped like the ones stores hand out: 32 lowercase hex digits."""
    return st.binary(min_size=16, max_size=16).map(bytes.hex)


def keys(*, max_size: int = MAX_KEY_LENGTH, max_segments: int = 3,
         alphabet: st.SearchStrategy[str] | str | None = None) -> st.SearchStrategy[str]:
    """Valid metric, param or tag keys: '/'-separated segments (``train/loss``), none empty,
    '.' or '..', no '\\' or control characters, at most ``max_size`` characters."""
    if not 1 <= max_size <= MAX_KEY_LENGTH or max_segments < 1:
        raise ValueError(f"need 1 <= max_size <= {MAX_KEY_LENGTH} and max_segments >= 1")
    chars = _segment_chars() if alphabet is None else alphabet
    segment = st.text(chars, min_size=1, max_size=max_size).filter(
        lambda s: s not in (".", ".."))
    return (
        st.lists(segment, min_size=1, max_size=max_segments)
        .map("/".join)
        .filter(lambda k: len(k) <= max_size and _valid(check_key, k))
    )


def metric_values(*, allow_nan: bool = True,
                  allow_infinity: bool = True) -> st.SearchStrategy[float]:
    """Metric values: any float, NaN and ±inf included, with the special values (±0.0,
    subnormals, extremes) drawn often."""
    specials = [v for v in SPECIAL_FLOATS
                if (allow_nan or not math.isnan(v)) and (allow_infinity or not math.isinf(v))]
    return st.one_of(
        st.sampled_from(specials),
        st.floats(allow_nan=allow_nan, allow_infinity=allow_infinity),
    )


def steps() -> st.SearchStrategy[int]:
    """Metric steps: any int64."""
    return st.integers(INT64_MIN, INT64_MAX)


def timestamps() -> st.SearchStrategy[int]:
    """Timestamps (epoch milliseconds): any int64."""
    return st.integers(INT64_MIN, INT64_MAX)


def metrics(key: str | st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Metric]:
    """Metric points; ``key`` fixes the key (or gives a strategy for it)."""
    key_strategy = keys() if key is None else (st.just(key) if isinstance(key, str) else key)
    return st.builds(Metric, key_strategy, metric_values(), timestamps(), steps())


@st.composite
def metric_series(draw: st.DrawFn, key: str | st.SearchStrategy[str] | None = None, *,
                  min_size: int = 0, max_size: int = 20) -> MetricSeries:
    """A MetricSeries of ``min_size`` to ``max_size`` points with steps, values and
    timestamps drawn independently (steps need not increase)."""
    if key is None:
        key = draw(keys())
    elif not isinstance(key, str):
        key = draw(key)
    n = draw(st.integers(min_size, max_size))
    return MetricSeries(
        key,
        draw(st.lists(steps(), min_size=n, max_size=n)),
        draw(st.lists(metric_values(), min_size=n, max_size=n)),
        draw(st.lists(timestamps(), min_size=n, max_size=n)),
    )


def _values(max_size: int) -> st.SearchStrategy[str]:
    return st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=max_size)


def param_values(*, max_size: int = MAX_PARAM_VALUE_LENGTH) -> st.SearchStrategy[str]:
    """Param values: any text without NUL (empty, newlines, unicode included)."""
    return _values(min(max_size, MAX_PARAM_VALUE_LENGTH))


def tag_values(*, max_size: int = MAX_TAG_VALUE_LENGTH) -> st.SearchStrategy[str]:
    """Tag values: any text without NUL, up to the tag length limit."""
    return _values(min(max_size, MAX_TAG_VALUE_LENGTH))


def params(*, max_size: int = 5,
           key: st.SearchStrategy[str] | None = None,
           value: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[dict[str, str]]:
    """A mapping of params, as ``log_batch`` takes them."""
    return st.dictionaries(keys() if key is None else key,
                           param_values() if value is None else value, max_size=max_size)


def tags(*, max_size: int = 5,
         key: st.SearchStrategy[str] | None = None,
         value: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[dict[str, str]]:
    """A mapping of tags, as ``create_experiment``, ``create_run`` and ``log_batch`` take
    them."""
    return st.dictionaries(keys() if key is None else key,
                           tag_values() if value is None else value, max_size=max_size)


def statuses() -> st.SearchStrategy[RunStatus]:
    """Any RunStatus."""
    return st.sampled_from(RunStatus)


def experiments() -> st.SearchStrategy[Experiment]:
    """Experiment value objects (ids, names, tags, stage and creation time drawn)."""
    return st.builds(
        Experiment,
        experiment_id=ids(),
        name=names(),
        artifact_location=st.one_of(st.just(""), st.text(max_size=50)),
        lifecycle_stage=st.sampled_from(LifecycleStage),
        creation_time=st.integers(0, INT64_MAX),
        tags=tags(),
    )


def run_infos() -> st.SearchStrategy[RunInfo]:
    """RunInfo value objects."""
    return st.builds(
        RunInfo,
        run_id=ids(),
        experiment_id=ids(),
        run_name=names(),
        status=statuses(),
        start_time=st.integers(0, INT64_MAX),
        end_time=st.none() | st.integers(0, INT64_MAX),
        lifecycle_stage=st.sampled_from(LifecycleStage),
        artifact_uri=st.text(max_size=50),
        user=st.text(max_size=20),
        parent_run_id=st.none() | ids(),
    )


@st.composite
def runs(draw: st.DrawFn) -> Run:
    """Run value objects: a RunInfo and RunData whose latest metrics are keyed by their
    own keys."""
    latest = {m.key: m for m in draw(st.lists(metrics(), max_size=5))}
    return Run(draw(run_infos()),
               RunData(latest=latest, params=draw(params()), tags=draw(tags())))


#: Classic bad names, each refused by the name check.
_BAD_NAMES = (
    "", ".", "..", "../x", "../../etc/passwd", "a/b", "/abs", "a/", "a\\b", "..\\x",
    "\x00", "a\x00b", "a\nb", "a\tb", "\x1b[0m", "\x7f", " lead", "trail ", " ",
    "x" * (MAX_NAME_LENGTH + 1), "a?versionId=1", "a#b", "~x", "a\ud800",
)


def invalid_names() -> st.SearchStrategy[str]:
    """Strings every store must refuse as a name with ``InvalidInput``: path traversal,
    separators, NUL and control characters, '?' and '#', lone surrogates, a leading '~',
    empty, '.', '..', surrounding whitespace, too long."""
    forbidden = st.sampled_from(sorted(_CONTROL + "/\\?#\ud800\udfff"))
    inserted = st.builds(lambda a, c, b: a + c + b, st.text(max_size=10), forbidden,
                         st.text(max_size=10))
    too_long = st.integers(MAX_NAME_LENGTH + 1, MAX_NAME_LENGTH + 50).flatmap(
        lambda n: st.text(_segment_chars(), min_size=n, max_size=n))
    padded = st.builds(lambda w, s, right: s + w if right else w + s,
                       st.sampled_from([" ", "\t", "\u00a0", "\u3000"]), names(max_size=20),
                       st.booleans())
    traversal = st.lists(st.sampled_from(["..", ".", "x", ""]), min_size=1, max_size=4).map(
        "/".join)
    return st.one_of(st.sampled_from(_BAD_NAMES), inserted, too_long, padded,
                     traversal).filter(lambda s: not _valid(check_name, s))


def invalid_keys() -> st.SearchStrategy[str]:
    """Strings every store must refuse as a metric, param or tag key: empty, '.'/'..'
    or empty segments, leading or trailing '/', backslashes, control characters, '?' and
    '#', lone surrogates, too long."""
    bad_segment = st.sampled_from(["", ".", ".."])
    segmented = st.builds(lambda a, bad, b: "/".join([*a, bad, *b]),
                          st.lists(st.sampled_from(["a", "b"]), max_size=2), bad_segment,
                          st.lists(st.sampled_from(["a", "b"]), max_size=2))
    forbidden = st.sampled_from(sorted(_CONTROL + "\\?#\ud800"))
    inserted = st.builds(lambda a, c, b: a + c + b, st.text(max_size=10), forbidden,
                         st.text(max_size=10))
    too_long = st.integers(MAX_KEY_LENGTH + 1, MAX_KEY_LENGTH + 50).map(lambda n: "k" * n)
    return st.one_of(segmented, inserted, too_long).filter(lambda s: not _valid(check_key, s))


# -- the model registry --------------------------------------------------------------------

#: The actions of registry events (``RegistryEvent.action``).
REGISTRY_ACTIONS: tuple[str, ...] = (
    "promote", "rollback", "archive", "set_alias", "remove_alias", "refused", "tag",
    "describe", "delete_model", "restore_model",
)

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-"


def _model_name_ok(name: str) -> bool:
    return "@" not in name


def model_names(*, min_size: int = 1, max_size: int = MAX_NAME_LENGTH,
                alphabet: st.SearchStrategy[str] | str | None = None
                ) -> st.SearchStrategy[str]:
    """Valid registered-model names: ``names()`` without '@' (it separates aliases in
    model URIs)."""
    return names(min_size=min_size, max_size=max_size, alphabet=alphabet).filter(
        _model_name_ok)


def _alias_ok(alias: str) -> bool:
    # Stage names in another case ("Production") pass check_alias, but model URIs
    # (models:/name@Production) read them as stages; they are left out (pinned in
    # tests/test_stateful_registry.py).
    return _valid(check_alias, alias) and alias.lower() not in (
        *(s.value for s in Stage), "latest")


def aliases(*, max_size: int = 40) -> st.SearchStrategy[str]:
    """Valid aliases (``champion``): model names that are not a stage or ``latest`` (in
    any case) and hold no '@'."""
    return model_names(max_size=max_size).filter(_alias_ok)


@st.composite
def semvers(draw: st.DrawFn, *, max_number: int = 20, prerelease: bool = True,
            build: bool = True, max_identifiers: int = 3,
            max_identifier_size: int = 8) -> str:
    """Valid semantic version strings (semver 2.0): ``MAJOR.MINOR.PATCH``, sometimes with a
    pre-release (``-rc.1``, ``-alpha.beta-2``, ``-0a``) and build metadata (``+sha.007``).

    Numbers are at most ``max_number``, so versions collide often; pre-release and build
    parts have up to ``max_identifiers`` identifiers of up to ``max_identifier_size``
    characters each.
    """
    major, minor, patch = (draw(st.integers(0, max_number)) for _ in range(3))
    text = f"{major}.{minor}.{patch}"
    word = st.text(_ALNUM, min_size=1, max_size=max_identifier_size)
    if prerelease and draw(st.booleans()):
        numeric = st.integers(0, 10 ** min(max_identifier_size, 6) - 1).map(str)
        ident = st.one_of(numeric, word.filter(lambda w: not w.isdigit()),
                          st.sampled_from(["alpha", "beta", "rc"]))
        text += "-" + ".".join(draw(st.lists(ident, min_size=1, max_size=max_identifiers)))
    if build and draw(st.booleans()):
        text += "+" + ".".join(draw(st.lists(word, min_size=1, max_size=max_identifiers)))
    return text


#: Strings that are not semantic versions, of every kind ``invalid_semvers`` draws.
_BAD_SEMVERS = (
    "", "1", "1.2", "1.2.3.4", "v1.2.3", "01.2.3", "1.02.3", "1.2.03", "-1.2.3", "1.-2.3",
    "1.2.3-", "1.2.3+", "1.2.3-+b", "1.2.3-a..b", "1.2.3-.a", "1.2.3-a.", "1.2.3+a..b",
    "1.2.3-01", "1.2.3-rc.00", "1.2.3-a_b", "1.2.3+a~b", "1.2.3-é", "1. 2.3", "1.2.3 -rc",
    "1.2.x", "one.two.three", "1..3", "1.2.3-rc+", "1.2.3++b", "latest", "1.2.3/4",
)

#: Decimal digits of other scripts: semver allows ASCII digits only.
_NON_ASCII_DIGITS = ("\u0663", "\u0661\u0663", "\uff11", "\u09ea")


def invalid_semvers(*, non_ascii_digits: bool = True) -> st.SearchStrategy[str]:
    """Strings every registry must refuse as a version with ``InvalidInput``: missing or
    extra parts, leading zeros, empty or bad pre-release and build identifiers, prefixes,
    inner spaces, and (``non_ascii_digits``) digits of other scripts (``1.0.1٣``), which
    semver's grammar does not allow. Surrounding whitespace is not drawn (it is stripped)."""
    n = st.integers(0, 99).map(str)
    leading_zero = st.builds(lambda a, b, c, i: ".".join(
        ("0" + x if j == i else x) for j, x in enumerate((a, b, c))),
        st.integers(1, 99).map(str), st.integers(1, 99).map(str),
        st.integers(1, 99).map(str), st.integers(0, 2))
    parts = st.lists(n, min_size=1, max_size=5).filter(lambda p: len(p) != 3).map(".".join)
    bad_ident = st.builds(lambda core, sep, ident: f"{core}{sep}{ident}",
                          st.sampled_from(["1.0.0", "2.3.4"]), st.sampled_from("-+"),
                          st.sampled_from(["", "a..b", ".a", "a.", "a_b", "a b", "ü", "a/b"]))
    options = [st.sampled_from(_BAD_SEMVERS), leading_zero, parts, bad_ident]
    if non_ascii_digits:
        options.append(st.builds(
            lambda core, digit, where: (f"{core}{digit}" if where == "patch"
                                        else f"1.0.0-{('1' if where == 'pre' else '') + digit}"
                                        + ("" if where == "pre" else "a")),
            st.sampled_from(["1.0.1", "1.0.", "2.1.3"]), st.sampled_from(_NON_ASCII_DIGITS),
            st.sampled_from(["patch", "pre", "word"])))
    return st.one_of(*options)


def changes(*, versions: st.SearchStrategy[str] | None = None,
            alias: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Change]:
    """``Change`` records: a stage moving between stages, or an alias given or taken
    (``before``/``after`` None when absent)."""
    versions = semvers(build=False) if versions is None else versions
    alias = aliases(max_size=20) if alias is None else alias
    stage = st.sampled_from([s.value for s in Stage])
    stage_change = st.builds(Change, versions, st.just("stage"), stage, stage)
    alias_change = alias.flatmap(lambda a: st.builds(
        Change, versions, st.just(f"alias:{a}"), st.sampled_from([None, a]),
        st.sampled_from([None, a])))
    return st.one_of(stage_change, alias_change)


def decisions() -> st.SearchStrategy[Decision]:
    """``Decision`` records with finite metric deltas."""
    return st.builds(
        Decision, promote=st.booleans(), reason=st.text(max_size=40),
        candidate=st.none() | semvers(build=False), incumbent=st.none() | semvers(build=False),
        deltas=st.dictionaries(keys(max_size=20),
                               st.floats(allow_nan=False, allow_infinity=False), max_size=3))


def payloads(*, max_leaves: int = 8) -> st.SearchStrategy[dict[str, Any]]:
    """Event payloads: JSON-shaped data (null, booleans, int64s, finite floats, text,
    lists and string-keyed objects, nested)."""
    scalars = (st.none() | st.booleans() | st.integers(INT64_MIN, INT64_MAX)
               | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
    json_values = st.recursive(
        scalars, lambda inner: st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=max_leaves)
    return st.dictionaries(st.text(max_size=10), json_values, max_size=4)


def registry_events(model: str | st.SearchStrategy[str] | None = None,
                    seq: int | st.SearchStrategy[int] | None = None
                    ) -> st.SearchStrategy[RegistryEvent]:
    """``RegistryEvent`` records with every field drawn: changes, an optional decision,
    payload, reason, actor and timestamp. ``model`` and ``seq`` fix those fields (or give
    strategies for them)."""
    model_strategy = model_names() if model is None else (
        st.just(model) if isinstance(model, str) else model)
    seq_strategy = st.integers(1, 10**9) if seq is None else (
        st.just(seq) if isinstance(seq, int) else seq)
    return st.builds(
        RegistryEvent, model=model_strategy, seq=seq_strategy,
        action=st.sampled_from(REGISTRY_ACTIONS), changes=st.lists(changes(), max_size=3),
        actor=st.text(max_size=20), timestamp=st.integers(0, INT64_MAX),
        reason=st.none() | st.text(max_size=40), decision=st.none() | decisions(),
        payload=payloads())


# -- hostile input ---------------------------------------------------------------------------

_HOSTILE_NAMES = (
    "", " ", ".", "..", "../x", "../../../../etc/passwd", "a/../../b", "/abs", "a/b", "a\\b",
    "..\\..\\x", "\x00", "a\x00b", "a\nb", "\x1b[31m", "\ud800", "a\udfffb", "x" * 10_000,
    "a?versionId=1", "a?b", "a#b", "#", "~x", "~" + "0" * 64, "%2e%2e", "%2F..%2F", "CON",
    "a" * 256, "é" * 200, " lead", "trail ", "models:/x", "@prod", "x@y", "*", "[a-z]",
)


def hostile_names() -> st.SearchStrategy[str]:
    """Strings an attacker or a slip would pass as a name, key or path: traversal, separators,
    NUL and control characters, lone surrogates, 10,000 characters, ``?versionId=``, ``#``,
    the hashed-folder form, glob and URL characters; fixed ones and random mixes."""
    pieces = st.sampled_from(["..", "/", "\\", "\x00", "\ud800", "?", "#", "~", "%", "@",
                              ":", "*", "\n", " "])
    mixed = st.lists(st.one_of(pieces, st.text(max_size=4)), min_size=1, max_size=6).map(
        "".join)
    return st.one_of(st.sampled_from(_HOSTILE_NAMES), mixed)


def hostile_numbers() -> st.SearchStrategy[Any]:
    """Numbers no 64-bit float or int holds, or that are not plain numbers: huge ints, NaN,
    ±inf, numpy scalars and arrays, Decimals, fractions, complex numbers, booleans."""
    import decimal
    import fractions

    import numpy as np

    return st.sampled_from([
        10**400, -(10**400), 2**63, -(2**63) - 1, math.nan, math.inf, -math.inf,
        np.float64("nan"), np.float32(1.5), np.int64(2**62), np.uint64(2**64 - 1),
        np.array([1.0, 2.0]), np.array(3.0), np.array([[1]]), np.array([]),
        decimal.Decimal("1e400"), decimal.Decimal("NaN"), decimal.Decimal("-0"),
        fractions.Fraction(1, 3), complex(1, 2), True, False, -1, 0,
        253_402_300_800_000, -62_135_596_800_001,
    ])


class _Opaque:
    """An object that is none of the things any argument expects."""

    def __repr__(self) -> str:
        return "<opaque>"


def hostile_values() -> st.SearchStrategy[Any]:
    """Anything a caller could pass where a name, number, mapping, sequence or path is
    expected: hostile names and numbers, and wrong types everywhere (None, bytes, lists,
    sets, mappings with odd keys or values, objects, functions)."""
    import datetime as dt

    wrong_types = st.sampled_from([
        None, b"bytes", bytearray(b"x"), [], [1, "a"], (), {}, set(), frozenset({1}),
        {1: 2}, {"a": _Opaque()}, {(1, 2): 3}, {"": 1}, {"..": 1}, {"a": [_Opaque()]},
        {"a": {"b": {"c": 10**400}}}, _Opaque(), object, len, lambda: None,
        dt.datetime(9999, 12, 31), dt.date(1, 1, 1), "x" * 100_000,
    ])
    return st.one_of(hostile_names(), hostile_numbers(), wrong_types)
