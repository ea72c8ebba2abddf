"""Small HTML and number-wording helpers shared by the report's sections."""

from __future__ import annotations

import html
import math

from sim.plots import time_unit


def e(value: object) -> str:
    """``value`` as escaped HTML text."""
    return html.escape(str(value), quote=True)


def table(header: list[str], rows: list[list], classes: list[list[str]] | None = None,
          caption: str = "") -> str:
    """An HTML table of escaped cells; ``classes`` gives a CSS class per body cell."""
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cells = []
        for j, cell in enumerate(row):
            cls = classes[i][j] if classes and classes[i][j] else ""
            cells.append(f"<td class='{cls}'>{e(cell)}</td>" if cls else f"<td>{e(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    top = f"<caption>{e(caption)}</caption>" if caption else ""
    return f"<table>{top}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def duration(minutes: float, unit: tuple[float, str] | None = None) -> str:
    """``minutes`` in readable units ("15.0 min", "24.0 h"); "—" when unknown."""
    if minutes is None or not math.isfinite(minutes):
        return "—"
    scale, name = unit or time_unit(minutes)
    return f"{minutes / scale:.1f} {name}"


def short_duration(minutes: float) -> str:
    """A target as a planner writes it: "15 min", "24 h"."""
    scale, name = time_unit(minutes)
    return f"{minutes / scale:.3g} {name}"


def signed(minutes: float, unit: tuple[float, str]) -> str:
    """A signed difference in ``unit``."""
    return f"{minutes / unit[0]:+.1f} {unit[1]}"


def pm(value: float, half_width: float, unit: tuple[float, str]) -> str:
    """"12.3 ± 1.2" in ``unit``; "—" when unknown."""
    if not math.isfinite(value):
        return "—"
    hw = f" ± {half_width / unit[0]:.1f}" if math.isfinite(half_width) else " ± —"
    return f"{value / unit[0]:.1f}{hw}"


def share(value: float, half_width: float) -> str:
    """A share with its half-width in percentage points: "42% ± 5"."""
    if not math.isfinite(value):
        return "—"
    hw = f" ± {half_width * 100:.0f}" if math.isfinite(half_width) else " ± —"
    return f"{value * 100:.0f}%{hw}"


def interval(value: float, half_width: float) -> str:
    """A share with its 95% interval clipped to 0-100%: "42% (37-47%)"."""
    if not math.isfinite(value):
        return "—"
    if not math.isfinite(half_width):
        return f"{value * 100:.0f}% (1 rep.)"
    low, high = max(value - half_width, 0.0), min(value + half_width, 1.0)
    return f"{value * 100:.0f}% ({low * 100:.0f}–{high * 100:.0f}%)"


def label(flow: str, kind: str) -> str:
    """What a (flow, kind) measures, in words."""
    if flow == "supply":
        return {"order": "supply order delivery",
                "package": "government package delivery"}.get(kind, f"supply {kind} delivery")
    if flow == "emergency":
        return f"{kind} emergency response"
    return {("notice", "notice"): "notice reaching a household",
            ("feedback", "reply"): "reply reaching the community head",
            ("testing", "round"): "testing in the round",
            ("testing", "makeup"): "make-up test"}.get((flow, kind), f"{flow} {kind}")


CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
table{border-collapse:collapse;margin:.5em 0 1.2em}
th,td{border-bottom:1px solid #ddd;padding:.25em .7em;text-align:right}
th:first-child,td:first-child{text-align:left}
thead th{background:#f3f3f3;vertical-align:bottom}
.note{color:#555;font-size:.92em}.bad{color:#b00;font-weight:bold}
.answer{font-size:1.2em;margin:.6em 0}
td.met{background:#dff0d8}td.notmet{background:#f8d7da}td.unsure{background:#fff3cd}
td.tag{text-align:left;white-space:nowrap}td.notecell{text-align:left;font-size:.88em;color:#444}
#inputs td,#decision td,#inputs th,#decision th{text-align:left}
#decision td{font-size:.9em;padding:.25em .45em;white-space:pre-line}
#decision th{font-size:.9em;padding:.25em .45em}td.design{min-width:11em}
#decision td.met,#decision td.notmet,#decision td.unsure{white-space:pre}
.wide{overflow-x:auto}
.bleed{width:max-content;min-width:100%;max-width:calc(100vw - 3em);position:relative;
left:50%;transform:translateX(-50%)}
ul.warn li{color:#8a5a00}
section{margin-bottom:2em}details{margin:.3em 0 1em}summary{cursor:pointer;color:#444}
figure{margin:1.5em 0}img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.92em;color:#444}
"""
