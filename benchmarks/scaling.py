"""What the ``--scale`` runs of the bench scripts share: growth exponents and the table.

A growth exponent is the slope of log(time) against log(size), fitted by least squares over a
curve's points: 0 is flat, 1 linear, 2 quadratic.
"""

from __future__ import annotations

import math
import resource
from collections.abc import Sequence


def growth_exponent(sizes: Sequence[float], costs: Sequence[float]) -> float:
    """The least-squares slope of log(cost) on log(size)."""
    xs = [math.log(s) for s in sizes]
    ys = [math.log(max(c, 1e-12)) for c in costs]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_curve(title: str, unit: str, points: Sequence[tuple[int, float]],
                note: str = "") -> float:
    """Print one curve (size -> cost) with its growth exponent; return the exponent."""
    exponent = growth_exponent([p[0] for p in points], [p[1] for p in points])
    print(f"\n{title}  (growth exponent {exponent:.2f}){'  ' + note if note else ''}")
    for size, cost in points:
        print(f"  {size:>10,}  {cost:>10.3f} {unit}")
    return exponent
