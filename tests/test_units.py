"""Readable durations, clock times and daily windows → model minutes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.units import parse_clock, parse_duration, parse_window


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("90s", 1.5),
        ("30s", 0.5),
        ("15min", 15.0),
        ("15m", 15.0),
        ("2.5h", 150.0),
        ("72h", 4320.0),
        ("2d", 2880.0),
        ("1day", 1440.0),
        ("3days", 4320.0),
        (" 15 min ", 15.0),
        ("15MIN", 15.0),
        ("0", 0.0),
        ("12", 12.0),
        ("1e1min", 10.0),
        (7, 7.0),
        (2.25, 2.25),
        (0, 0.0),
    ],
)
def test_parse_duration(text: object, minutes: float) -> None:
    assert parse_duration(text) == pytest.approx(minutes, rel=1e-12, abs=0)
    assert isinstance(parse_duration(text), float)


@pytest.mark.parametrize(
    "bad",
    ["", "abc", "15 minutes", "15y", "h", "1.5.2h", "-5min", "5min 3s", "--3", "nan", "inf",
     -1, -0.5, float("nan"), float("inf"), True, False, None, [15], {"min": 15}],
)
def test_parse_duration_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


@given(st.integers(min_value=0, max_value=10**6))
def test_units_scale_consistently(n: int) -> None:
    assert parse_duration(f"{n}s") == pytest.approx(n / 60)
    assert parse_duration(f"{n}min") == float(n)
    assert parse_duration(f"{n}h") == float(n * 60)
    assert parse_duration(f"{n}d") == float(n * 1440)
    assert parse_duration(n) == parse_duration(str(n)) == parse_duration(f"{n}min")


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("00:00", 0.0), ("06:00", 360.0), ("6:30", 390.0), ("23:59", 1439.0), ("24:00", 1440.0),
     (" 10:05 ", 605.0)],
)
def test_parse_clock(text: str, minutes: float) -> None:
    assert parse_clock(text) == minutes


@pytest.mark.parametrize("bad", ["24:01", "25:00", "12:60", "12", "12:5", "noon", "-1:00", "",
                                 "12:00:00", "1200"])
def test_parse_clock_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="clock"):
        parse_clock(bad)


def test_parse_window_same_day() -> None:
    assert parse_window("09:00-12:00") == (540.0, 720.0)


def test_parse_window_wraps_past_midnight() -> None:
    start, end = parse_window("23:00-07:00")
    assert (start, end) == (1380.0, 420.0)
    # the window's length, read as a daily window, is eight hours
    assert (end - start) % 1440 == 480


def test_parse_window_to_midnight() -> None:
    assert parse_window("18:00-24:00") == (1080.0, 1440.0)
    assert parse_window("00:00-06:00") == (0.0, 360.0)


@pytest.mark.parametrize("bad", ["09:00", "09:00-", "-09:00", "09:00-10:00-11:00", "9-12",
                                 "25:00-06:00", "06:00-06:00", "night"])
def test_parse_window_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_window(bad)
