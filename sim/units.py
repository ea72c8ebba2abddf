"""Readable durations and clock times, converted to model minutes.

Scenario files say ``90s``, ``15min``, ``2.5h`` or ``3d``; the model counts in
minutes (float). A bare number is read as minutes.
"""

from __future__ import annotations

import re
import reprlib

_UNIT_MIN = {
    "s": 1 / 60,
    "sec": 1 / 60,
    "min": 1.0,
    "m": 1.0,
    "h": 60.0,
    "hr": 60.0,
    "d": 1440.0,
    "day": 1440.0,
    "days": 1440.0,
}
_DURATION = re.compile(r"^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z]+)?\s*$")
_CLOCK = re.compile(r"^\s*([01]?[0-9]|2[0-4]):([0-5][0-9])\s*$")
MINUTES_PER_DAY = 1440.0
MAX_MINUTES = 1e10
"""Longest duration accepted: beyond it sums of times lose all precision."""
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxdict = 2, 40, 40, 4, 4


def shown(value: object, limit: int = 60) -> str:
    """A short ``repr`` of user data for messages, however large the value."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def parse_duration(value: object) -> float:
    """Return ``value`` (``"15min"``, ``"72h"``, ``90``) as minutes.

    Raises ``ValueError`` with the accepted forms when the text is not a duration.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like '90s', '15min', '72h', got {shown(value)}")
    if isinstance(value, (int, float)):
        minutes = float(value)
    elif isinstance(value, str):
        match = _DURATION.match(value.lower())
        if not match or (match.group(2) and match.group(2) not in _UNIT_MIN):
            raise ValueError(
                f"expected a duration like '90s', '15min', '2.5h', '3d', got {shown(value)}"
            )
        minutes = float(match.group(1)) * _UNIT_MIN[match.group(2) or "min"]
    else:
        raise ValueError(f"expected a duration like '90s', '15min', '72h', got {shown(value)}")
    if minutes < 0 or minutes != minutes or minutes == float("inf"):
        raise ValueError(f"a duration must be finite and not negative, got {shown(value)}")
    if minutes > MAX_MINUTES:
        raise ValueError(f"a duration must be at most {MAX_MINUTES:.0e} minutes (about 19,000 "
                         f"years), got {shown(value)}")
    return minutes


def parse_clock(value: str) -> float:
    """Return a clock time ``"HH:MM"`` as minutes after midnight."""
    match = _CLOCK.match(str(value))
    if not match:
        raise ValueError(f"expected a clock time 'HH:MM', got {shown(value)}")
    minutes = int(match.group(1)) * 60 + int(match.group(2))
    if minutes > MINUTES_PER_DAY:
        raise ValueError(f"expected a clock time between 00:00 and 24:00, got {shown(value)}")
    return float(minutes)


def parse_window(value: str) -> tuple[float, float]:
    """Return a daily window ``"HH:MM-HH:MM"`` as (start, end) minutes after midnight.

    The window may wrap past midnight (``"23:00-07:00"``).
    """
    parts = str(value).split("-")
    if len(parts) != 2:
        raise ValueError(f"expected a daily window 'HH:MM-HH:MM', got {shown(value)}")
    start, end = parse_clock(parts[0]), parse_clock(parts[1])
    if start == end:
        raise ValueError(f"a daily window must not be empty, got {shown(value)}")
    return start, end
