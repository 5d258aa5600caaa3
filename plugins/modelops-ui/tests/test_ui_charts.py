"""The server-drawn SVG charts: labels escaped, gaps for values that are not finite, time
axes labelled so ticks differ."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from modelops_ui import charts

SVG = "{http://www.w3.org/2000/svg}"


def test_a_line_chart_is_valid_svg_with_every_label_escaped() -> None:
    svg = charts.line_chart([("<script>a</script>", [0, 1, 2], [0.5, math.nan, 0.7]),
                             ("b&c", [0, 1, 2], [0.1, 0.2, math.inf])],
                            title="loss <1>", y_label="\"y\"")
    root = ET.fromstring(svg)                      # well-formed: nothing broke out
    assert root.find(f"{SVG}title").text == "loss <1>"
    tips = [c.get("data-tip") for c in root.iter(f"{SVG}circle")]
    assert len(tips) == 4                          # NaN and inf are not drawn
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    legend = [t.text for t in root.iter(f"{SVG}text")]
    assert "<script>a</script>" in legend and "b&c" in legend


def test_time_ticks_differ_whatever_the_span() -> None:
    start = 1_760_000_000_000
    for span in (30, 5_000, 3_600_000, 3 * 86_400_000, 90 * 86_400_000):
        svg = charts.line_chart([("m", [start, start + span], [1.0, 2.0])], title="m",
                                x_axis="time")
        root = ET.fromstring(svg)
        labels = [t.text for t in root.iter(f"{SVG}text")
                  if t.get("y") == str(10.0 + 220.0 + 14)]
        assert len(labels) >= 2 and len(set(labels)) == len(labels), (span, labels)


def test_nothing_to_draw_says_so() -> None:
    assert "no finite values" in charts.line_chart([("m", [1], [math.nan])], title="m")
    assert "no runs" in charts.scatter_chart([], x_label="p", y_label="m")
