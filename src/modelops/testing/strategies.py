"""Hypothesis strategies for modelops value objects, valid by construction.

Every strategy draws values the entities and stores must accept: they respect the limits of
``modelops.entities._validate`` (name and key lengths, forbidden characters, value
lengths). ``invalid_names()`` and ``invalid_keys()`` draw what must be refused.

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
from modelops.entities._validate import (
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
    "SPECIAL_FLOATS",
    "experiments",
    "ids",
    "invalid_keys",
    "invalid_names",
    "keys",
    "metric_series",
    "metric_values",
    "metrics",
    "names",
    "param_values",
    "params",
    "run_infos",
    "runs",
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
    "x" * (MAX_NAME_LENGTH + 1),
)


def invalid_names() -> st.SearchStrategy[str]:
    """Strings every store must refuse as a name with ``InvalidInput``: path traversal,
    separators, NUL and control characters, empty, '.', '..', surrounding whitespace,
    too long."""
    forbidden = st.sampled_from(sorted(_CONTROL + "/\\"))
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
    or empty segments, leading or trailing '/', backslashes, control characters, too
    long."""
    bad_segment = st.sampled_from(["", ".", ".."])
    segmented = st.builds(lambda a, bad, b: "/".join([*a, bad, *b]),
                          st.lists(st.sampled_from(["a", "b"]), max_size=2), bad_segment,
                          st.lists(st.sampled_from(["a", "b"]), max_size=2))
    forbidden = st.sampled_from(sorted(_CONTROL + "\\"))
    inserted = st.builds(lambda a, c, b: a + c + b, st.text(max_size=10), forbidden,
                         st.text(max_size=10))
    too_long = st.integers(MAX_KEY_LENGTH + 1, MAX_KEY_LENGTH + 50).map(lambda n: "k" * n)
    return st.one_of(segmented, inserted, too_long).filter(lambda s: not _valid(check_key, s))
