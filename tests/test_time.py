"""One grammar for durations, everywhere a window, an interval or an age is given."""

import datetime as dt
import time

import pytest

import modelops
from modelops._time import format_duration, parse_duration, utc_day, utc_time
from modelops.errors import InvalidInput

H = 3_600_000


@pytest.mark.parametrize(("text", "ms"), [
    ("30s", 30_000), ("90m", 90 * 60_000), ("1.5h", 90 * 60_000), ("7d", 7 * 24 * H),
    ("2w", 14 * 24 * H), ("500ms", 500), (".5s", 500), (" 12 h ", 12 * H),
    (dt.timedelta(minutes=3), 180_000)])
def test_the_grammar(text, ms):
    assert parse_duration(text, "window") == ms


@pytest.mark.parametrize("bad", ["", "1", "h", "1.5", "-1h", "1.5.2h", "1y", "24 hours",
                                 "1e3s", "nan h", 30, True, None, [1]])
def test_what_it_refuses_names_the_field(bad):
    with pytest.raises(InvalidInput, match=r"^older_than: expected a duration"):
        parse_duration(bad, "older_than")


def test_numbers_count_the_unit_the_argument_names_and_zero_is_opt_in():
    assert parse_duration(30, "older_than", number_unit="d") == 30 * 24 * H
    assert parse_duration(0.5, "older_than", number_unit="d") == 12 * H
    assert parse_duration("0s", "older_than", allow_zero=True) == 0
    with pytest.raises(InvalidInput, match="positive"):
        parse_duration("0h", "window")
    with pytest.raises(InvalidInput, match="non-negative"):
        parse_duration(-1, "older_than", number_unit="d", allow_zero=True)


def test_formatting():
    assert [format_duration(ms) for ms in (H, 90 * 60_000, 7 * 24 * H, 1_500)] == [
        "1h", "90m", "1w", "1500ms"]
    assert utc_day(1_800_000_000_000) == "2027-01-15"
    assert utc_time(1_800_000_000_000) == "2027-01-15 08:00:00"


def test_health_and_cleanup_accept_the_same_spellings():
    ops = modelops.connect("memory://")
    health = ops.monitor("fraud", now=1_800_000_000_000).health("1.5h", alert=False)
    assert health.window == "1.5h" and health.issue("no_data") is not None
    with ops.tracking.start_run(experiment="e"):
        pass
    time.sleep(0.01)                      # the run ended strictly before "now"
    assert ops.tracking.cleanup("e", older_than="1.5h") == []
    assert len(ops.tracking.cleanup("e", older_than="0s", dry_run=True)) == 1
    with pytest.raises(InvalidInput, match="window"):
        ops.monitor("fraud").health(30)
