"""The figures' common style, applied without touching the caller's rcParams."""

from __future__ import annotations

import functools
from collections.abc import Callable

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D

STYLE = {"font.size": 9, "axes.titlesize": 10, "axes.spines.top": False,
          "axes.spines.right": False, "legend.fontsize": 8, "legend.frameon": False,
          "text.parse_math": False}  # names are shown as typed: "$x$" is not math markup


def styled(draw: Callable[..., Figure]) -> Callable[..., Figure]:
    """Draw under :data:`STYLE` without touching the caller's rcParams.

    Tick labels are made when the figure is drawn: their size is fixed here, so the
    figure looks the same shown in a notebook as saved in the report.
    """
    @functools.wraps(draw)
    def wrapper(*args: object, **kwargs: object) -> Figure:
        with matplotlib.rc_context(STYLE):
            figure = draw(*args, **kwargs)
            for axis in "xy":
                size = FontProperties(size=matplotlib.rcParams[f"{axis}tick.labelsize"])
                for ax in figure.axes:
                    ax.tick_params(axis=axis, labelsize=size.get_size_in_points())
            return figure
    return wrapper


MARKERS = "osD^vPX*<>h"
"""Eleven, prime to the eighteen colours: no two of the first 198 variants look alike."""
DASHES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)))


def colour(index: int) -> tuple:
    """Variant ``index``'s colour: tab10, then Dark2, eighteen distinct before any repeats."""
    if index % 18 < 10:
        return matplotlib.colormaps["tab10"](index % 18)
    return matplotlib.colormaps["Dark2"](index % 18 - 10)


def line_style(i: int) -> dict:
    """Colour aside, what tells variant ``i`` apart when curves coincide: dashes, markers."""
    return {"linestyle": DASHES[i % len(DASHES)], "marker": MARKERS[i % len(MARKERS)],
            "markevery": (0.03 + 0.09 * (i % 10) / 10, 0.09), "markersize": 4,
            "linewidth": 1.3, "markerfacecolor": "none"}


def variant_legend(where: Figure | Axes, variants: list[str], lines: bool = False,
                   labels: list[str] | None = None,
                   indices: list[int] | None = None) -> None:
    """One legend of the variants: below a figure's panels, never over a curve.

    ``indices`` are the variants' places in the scenario (their colours and styles) when
    ``variants`` is not the scenario's whole list.
    """
    places = indices if indices is not None else list(range(len(variants)))
    handles = [Line2D([], [], color=colour(i), **(line_style(i) if lines else
                                                  {"marker": MARKERS[i % len(MARKERS)],
                                                   "linestyle": "none",
                                                   "markerfacecolor": "none"}),
                      label=(labels or variants)[k]) for k, i in enumerate(places)]
    legend(where, handles, ncols=min(max(len(variants), 1), 4))


def legend(where: Figure | Axes, handles: list | None = None, ncols: int = 1, *,
           loc: str = "outside lower center", **kwargs: object) -> None:
    """A figure's legend outside its panels (``loc``), an Axes' legend where it hides least.

    Without ``handles``, the labelled artists are the entries.
    """
    if isinstance(where, Axes):
        loc, ncols = "best", min(ncols, 2)
    if handles is not None:
        kwargs["handles"] = handles
    where.legend(loc=loc, ncols=ncols, **kwargs)
