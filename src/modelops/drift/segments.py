"""Segments: every verdict per value of a column (or of a function of the rows), worst first.

``ops.drift.check(name, frame, segment_by="region")`` checks each segment's rows against the
same segment of the reference: the reference profile's row sample (every row up to 5,000,
else 5,000 drawn at random) cut by the same column or function. A segment whose rows are the
whole reference sample is checked against the whole reference profile, so with one segment
the verdict is exactly the global one. Segments with fewer than ``min_segment`` rows now, or
in the reference sample, are not judged (``skipped`` says why). The tests of all segments
are one family: with ``segment_correction="bonferroni"`` (the default) each segment's alpha
is divided by the number of segments judged, so that looking at ten segments does not raise
ten times the false alarms; ``None`` leaves each at its own alpha.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from modelops.entities.drift import DatasetProfile, DriftReport
from modelops.errors import InvalidInput

__all__ = ["SEGMENT_CORRECTIONS", "SegmentDrift", "SegmentedDriftReport", "segment_labels",
           "segment_profiles"]

SEGMENT_CORRECTIONS = ("bonferroni", None)
MIN_SEGMENT = 100


@attrs.frozen(kw_only=True)
class SegmentDrift:
    """One segment's report: ``segment`` (the value, as text), ``n`` its current rows and
    ``n_reference`` its reference rows."""

    segment: str
    n: int
    n_reference: int
    report: DriftReport


@attrs.frozen(kw_only=True)
class SegmentedDriftReport:
    """A drift check per segment: ``segments`` worst first (drifted before not, then by the
    share of drifted features, then by the smallest p-value); ``skipped`` the segments not
    judged, with why; ``alpha`` each segment's alpha after the correction."""

    segment_by: str
    segments: tuple[SegmentDrift, ...] = attrs.field(converter=tuple)
    skipped: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=tuple)
    correction: str | None = "bonferroni"
    alpha: float = 0.05

    @property
    def drifted(self) -> bool:
        """Whether any segment drifted (its dataset, or together)."""
        return any(s.report.drifted or s.report.multivariate_drifted for s in self.segments)

    @property
    def drifted_segments(self) -> list[str]:
        return [s.segment for s in self.segments
                if s.report.drifted or s.report.multivariate_drifted]

    def segment(self, value: Any) -> SegmentDrift:
        for s in self.segments:
            if s.segment == str(value):
                return s
        raise InvalidInput(f"no judged segment {value!r}", field="segment")

    def to_dict(self) -> dict[str, Any]:
        """Plain Python data."""
        return {"segment_by": self.segment_by, "correction": self.correction,
                "alpha": self.alpha, "skipped": [list(s) for s in self.skipped],
                "segments": [{"segment": s.segment, "n": s.n, "n_reference": s.n_reference,
                              "report": s.report.to_dict()} for s in self.segments]}


def segment_labels(segment_by: str | Callable[[Any], Any], columns: Mapping[str, Any],
                   n: int, what: str) -> np.ndarray:
    """Each row's segment as text (None for a missing value): the column ``segment_by`` of
    ``columns``, or ``segment_by(columns)`` (one value per row)."""
    from modelops.frames import categorical

    if callable(segment_by):
        values = np.asarray(segment_by(columns), dtype=object)
    elif isinstance(segment_by, str):
        if segment_by not in columns:
            raise InvalidInput(f"{what} has no column {segment_by!r}", field="segment_by")
        values = np.asarray(columns[segment_by])
    else:
        raise InvalidInput(f"expected a column name or a function of the rows, got "
                           f"{segment_by!r}", field="segment_by")
    if values.ndim != 1 or len(values) != n:
        raise InvalidInput(f"expected one segment per row ({n}), got shape {values.shape}",
                           field="segment_by")
    return categorical(values)


def segment_name(segment_by: Any) -> str:
    return segment_by if isinstance(segment_by, str) else getattr(segment_by, "__name__",
                                                                  "segment")


def segment_profiles(profile: DatasetProfile, segment_by: Any,
                     values: list[str]) -> dict[str, tuple[DatasetProfile | None, int]]:
    """Each segment's reference profile, from the profile's row sample, and its rows there
    (the whole profile for a segment that holds every sampled row)."""
    from modelops.drift.profile import profile_frame

    if profile.sample is None:
        raise InvalidInput("the reference profile keeps no rows to cut into segments "
                           "(fitted before row samples were kept); fit it again",
                           field="segment_by")
    sample = {c: np.array(v, dtype=np.float64 if profile.columns[c].kind == "numeric"
                          else object) for c, v in profile.sample.items()}
    labels = segment_labels(segment_by, sample, profile.sample_rows, "the reference")
    categorical = [c for c, p in profile.columns.items() if p.kind == "categorical"]
    out: dict[str, tuple[DatasetProfile | None, int]] = {}
    for value in values:
        rows = labels == value
        count = int(rows.sum())
        if count == len(labels):
            out[value] = (profile, profile.rows)
        elif count == 0:
            out[value] = (None, 0)
        else:
            part = {c: v[rows] for c, v in sample.items()}
            out[value] = (profile_frame(profile.name, part, categorical=categorical,
                                        target=profile.target,
                                        prediction=profile.prediction), count)
    return out


def check_segments(profile: DatasetProfile, frame: Any, segment_by: Any, *,
                   min_segment: int = MIN_SEGMENT, segment_correction: str | None = "bonferroni",
                   threshold: float | None = None, **options: Any) -> SegmentedDriftReport:
    """Check each segment of ``frame`` against the same segment of the reference (see the
    module docstring); ``options`` go to ``check_profile``."""
    from modelops.drift.detector import check_profile
    from modelops.drift.methods import DEFAULT_DRIFT_ALPHA
    from modelops.frames import to_columns

    if segment_correction not in SEGMENT_CORRECTIONS:
        raise InvalidInput(f"expected 'bonferroni' or None, got {segment_correction!r}",
                           field="segment_correction")
    if isinstance(min_segment, bool) or not isinstance(min_segment, int) or min_segment < 1:
        raise InvalidInput(f"expected a whole number ≥ 1, got {min_segment!r}",
                           field="min_segment")
    data = to_columns(frame)
    n = len(next(iter(data.values()))) if data else 0
    labels = segment_labels(segment_by, data, n, "the frame")
    found, counts = np.unique(labels.astype(str), return_counts=True)
    present = [(str(v), int(c)) for v, c in zip(found, counts) if v != "None"]
    references = segment_profiles(profile, segment_by, [v for v, _ in present])
    skipped, judged = [], []
    for value, count in present:
        ref, n_ref = references[value]
        if count < min_segment:
            skipped.append((value, f"{count} rows, fewer than min_segment ({min_segment})"))
        elif ref is None or (ref is not profile and n_ref < min_segment):
            skipped.append((value, f"{n_ref} reference rows, fewer than min_segment "
                                   f"({min_segment})"))
        else:
            judged.append((value, count, ref, n_ref))
    base = DEFAULT_DRIFT_ALPHA if threshold is None else float(threshold)
    alpha = base / len(judged) if segment_correction and judged else base
    out = []
    for value, count, ref, n_ref in judged:
        rows = labels == value
        part = {c: v[rows] for c, v in data.items()}
        report = check_profile(ref, part, threshold=alpha if len(judged) > 1 or threshold
                               else None, **options)
        out.append(SegmentDrift(segment=value, n=count, n_reference=n_ref, report=report))
    out.sort(key=_badness)
    return SegmentedDriftReport(segment_by=segment_name(segment_by), segments=out,
                                skipped=skipped, correction=segment_correction, alpha=alpha)


def _badness(s: SegmentDrift) -> tuple[Any, ...]:
    r = s.report
    pvalues = [c.pvalue for c in r.columns if c.pvalue is not None]
    return (not (r.drifted or r.multivariate_drifted), -r.share,
            min(pvalues, default=1.0), s.segment)
