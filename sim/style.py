"""The figures' common style, applied without touching the caller's rcParams."""

from __future__ import annotations

import functools
from collections.abc import Callable

import matplotlib
from matplotlib.figure import Figure

STYLE = {"font.size": 9, "axes.titlesize": 10, "axes.spines.top": False,
          "axes.spines.right": False, "legend.fontsize": 8, "legend.frameon": False,
          "text.parse_math": False}  # names are shown as typed: "$x$" is not math markup


def styled(draw: Callable[..., Figure]) -> Callable[..., Figure]:
    """Draw under :data:`STYLE` without touching the caller's rcParams."""
    @functools.wraps(draw)
    def wrapper(*args: object, **kwargs: object) -> Figure:
        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)
    return wrapper
