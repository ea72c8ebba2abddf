"""``results.plot.<figure>(ax=None)``: the report's figure, or one of its panels in the
analyst's Axes, drawn by the same code with the same numbers."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

import sim
from sim import metrics, plots, plots_flows
from sim.plot_accessor import FIGURES
from sim.results_io import plain

from .conftest import make_scenario
from .test_losses import loss_dict

# (method, selectors of one panel, title of that panel in the report's figure)
PANELS = [
    ("ecdf", {"flow": "supply", "kind": "order"}, "supply · order (target 24 h, dashed)"),
    ("p95", {"flow": "notice"}, "notice · notice (target 120 min)"),
    ("stages", {"flow": "emergency", "kind": "critical"}, "emergency · critical"),
    ("utilisation", {}, "Head utilisation by level (box: quartiles, diamond: mean)"),
    ("tradeoff", {"flow": "supply", "kind": "order"}, "supply · order (target 24 h)"),
    ("sensitivity", {"flow": "notice", "kind": "notice"}, "notice · notice · mean: "),
    ("coverage", {}, None),
    ("testing_queue", {"variant": "plain"}, "plain"),
    ("lost_heads", {"variant": "lossy"}, "plain\nwith and without lost heads"),
    ("chain", {"variant": "plain"}, None),
]


@pytest.fixture(scope="module")
def results() -> sim.Results:
    """Every figure has data: notices, testing rounds, a design and its lossy twin, and a
    sensitivity block."""
    data = loss_dict({"level": "floor", "share": 0.5, "from": "3h", "until": "30h",
                      "backup": "parent"})
    data["variants"].append({"name": "plain"})
    data["sensitivity"] = {"compare": ["plain", "lossy"], "metrics": ["mean"], "replications": 2,
                           "assumptions": [{"set": "emergency.dispatch.handle", "low": "1min",
                                            "high": "5min"}]}
    return sim.run(make_scenario(data), replications=2, jobs=1, progress=False)


@pytest.fixture(scope="module")
def small() -> sim.Results:
    return sim.run(Path(__file__).parents[1] / "scenarios" / "small.yaml", replications=2,
                   jobs=1, progress=False)


def png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=plots.DPI, metadata={"Software": None})
    return buffer.getvalue()


def drawn(ax: Axes) -> list:
    """What a panel shows, as numbers and text: lines, points, bars, labels and limits."""
    patches = [(p.get_x(), p.get_y(), p.get_width(), p.get_height())
               if isinstance(p, Rectangle) else type(p).__name__ for p in ax.patches]
    return [ax.get_title(), ax.get_title("left"), ax.get_xlabel(), ax.get_ylabel(),
            ax.get_xlim(), ax.get_ylim(),
            [(np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float))
             for line in ax.lines],
            [(np.asarray(c.get_offsets(), float), [p.vertices for p in c.get_paths()])
             for c in ax.collections],
            patches, [(t.get_text(), t.get_position()) for t in ax.texts]]


def report_panel(figure: Figure, title: str | None) -> Axes:
    """The panel of the report's figure whose title starts ``title`` (the only one if None)."""
    shown = [ax for ax in figure.axes if ax.get_visible()]
    if title is None:
        assert len(shown) == 1
        return shown[0]
    (panel,) = [ax for ax in shown if (ax.get_title() + ax.get_title("left")).startswith(title)]
    return panel


@pytest.mark.parametrize(("name", "selectors", "title"), PANELS, ids=[p[0] for p in PANELS])
def test_a_panel_in_the_analysts_axes_is_the_reports_panel(
        results: sim.Results, name: str, selectors: dict, title: str | None) -> None:
    method = getattr(results.plot, name)
    whole = method(**({"flow": selectors["flow"]} if name == "ecdf" else
                      {"variant": selectors["variant"]} if name == "chain" else {}))
    assert isinstance(whole, Figure)
    before = dict(matplotlib.rcParams)
    mine = Figure()
    ax = mine.add_subplot()
    assert method(**selectors, ax=ax) is ax
    assert mine.axes == [ax] and not mine.legends  # nothing added beside the analyst's Axes
    assert dict(matplotlib.rcParams) == before
    panel = report_panel(whole, title)
    ours, theirs = drawn(ax), drawn(panel)
    if name == "chain":  # the figure's heading becomes the Axes' title
        assert ours[0] == whole.get_suptitle() and ours[0].startswith("Chain of plain: ")
        ours[0] = theirs[0]
    np.testing.assert_equal(ours, theirs)
    assert ax.lines or ax.collections or ax.patches
    legends = [*whole.legends, *(a.get_legend() for a in whole.axes if a.get_legend())]
    assert (ax.get_legend() is not None) == bool(legends)  # the figure's legend, on the Axes
    if legends:
        entries = {t.get_text() for t in ax.get_legend().get_texts()}
        assert entries and entries <= {t.get_text() for lg in legends for t in lg.get_texts()}


@pytest.mark.parametrize(("name", "draw"), [
    ("tradeoff", lambda r: plots.tradeoff_figure(r)),  # tick labels made when saved
    ("lost_heads", lambda r: plots_flows.losses_figure(r)),
    ("chain", lambda r: plots.chain_figure(r.chains["lossy"], "lossy"))])
def test_without_ax_the_figure_is_the_reports_png(results: sim.Results, name: str,
                                                  draw: Callable) -> None:
    """Saved outside the report's style, the figure still has the report's bytes."""
    with matplotlib.rc_context(plots._STYLE):  # as plots.write_figures draws and saves
        report = png(draw(plain(results)))
    assert png(getattr(results.plot, name)()) == report


def test_panel_numbers_are_the_tables_numbers(results: sim.Results) -> None:
    summary = results.summary[results.summary["household_group"] == "all"]

    ax = Figure().add_subplot()
    results.plot.p95(flow="notice", ax=ax)
    notice = summary[summary["flow"] == "notice"].set_index("variant")
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == pytest.approx(list(notice.loc[results.variants, "p95"]))

    ax = Figure().add_subplot()
    results.plot.coverage(ax=ax)
    curve = results.flow_tables["coverage_curve"]
    for line, variant in zip(ax.lines, results.variants, strict=False):
        expected = curve.loc[curve["variant"] == variant, "known_share"].to_numpy()
        assert line.get_label() == variant
        np.testing.assert_allclose(line.get_ydata(), expected)

    ax = Figure().add_subplot()
    results.plot.lost_heads("plain", ax=ax)
    shown = {c.get_label(): c.lines[0].get_xdata() for c in ax.containers}
    for variant in ("plain", "lossy"):
        rows = summary[summary["variant"] == variant].set_index(["flow", "kind"])
        keys = list(metrics.targets(results.scenario))
        np.testing.assert_allclose(shown[variant], rows["within_target"].reindex(keys).to_numpy())

    ax = Figure().add_subplot()
    results.plot.testing_queue(variant="lossy", ax=ax)
    queue = results.flow_tables["testing_queue"]
    queue = queue[queue["variant"] == "lossy"]
    longest = queue.groupby("time_min")["queue"].max()
    rounds = results.scenario.testing.at
    assert [line.get_label().split(" (")[0] for line in ax.lines] == \
        [f"round {k + 1}" for k in range(len(rounds))]
    for line, start in zip(ax.lines, rounds, strict=True):
        times = np.asarray(line.get_xdata()) * 60.0 + start
        shown = np.asarray(line.get_ydata())
        recorded = longest.reindex(times)  # every recorded bin is drawn at its value...
        assert recorded.notna().sum() == ((longest.index >= start - 10)
                                          & (longest.index <= times.max())).sum()
        np.testing.assert_allclose(shown[recorded.notna()], recorded.dropna().to_numpy())
        assert (shown[recorded.isna()] == 0).all()  # ...and a bin without a record is empty


def test_ecdf_line_ends_at_the_share_answered(results: sim.Results) -> None:
    ax = Figure().add_subplot()
    results.plot.ecdf("supply", "order", ax=ax)
    requests = results.requests
    requests = requests[(requests["created_min"] >= results.scenario.warmup)
                        & (requests["flow"] == "supply") & (requests["kind"] == "order")]
    for variant in results.variants:
        (line,) = [line for line in ax.lines if line.get_label() == variant]
        rows = requests[requests["variant"] == variant]
        answered = rows.groupby("replication")["response_min"].apply(lambda s: s.notna().mean())
        assert line.get_ydata()[-1] == pytest.approx(answered.mean())


@pytest.mark.parametrize(("call", "message"), [
    (lambda p, ax: p.p95(ax=ax), r"p95: 9 panels; pick one with flow= and kind= \(panels: "
                                 r"supply · order, supply · package, "),
    (lambda p, ax: p.p95(flow="supply", ax=ax),
     r"2 panels with flow='supply'; pick one with kind= \(panels: supply · order, supply · "
     r"package\)"),
    (lambda p, ax: p.p95(flow="suply", ax=ax), r"p95: no flow 'suply' \(flows: supply, emergency"),
    (lambda p, ax: p.ecdf("supply", "urgent", ax=ax),
     r"ecdf: no panel with flow='supply', kind='urgent' \(panels: supply · order"),
    (lambda p, ax: p.ecdf("nope"), r"ecdf: no flow 'nope' \(flows: supply, emergency, notice"),
    (lambda p, ax: p.sensitivity(flow="notice", metric="p95", ax=ax),
     r"no metric 'p95' \(metrics: mean\)"),
    (lambda p, ax: p.testing_queue(ax=ax), r"pick one with variant= \(panels: lossy, plain\)"),
    (lambda p, ax: p.lost_heads("other", ax=ax), r"no variant 'other' \(variants: plain\)"),
    (lambda p, ax: p.chain("nope"), r"chain: no variant 'nope' \(variants: lossy, plain\)"),
    (lambda p, ax: p.p95(flow="supply"), r"flow= pick the panel drawn into ax=; without ax"),
    (lambda p, ax: p.stages("supply", "order"), r"flow= and kind= pick the panel"),
], ids=lambda v: "" if callable(v) else v[:24])
def test_bad_selectors_name_the_choices(results: sim.Results, call, message: str) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=message):
        call(results.plot, Figure().add_subplot())


def test_ax_must_be_an_axes(results: sim.Results) -> None:
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes, not Figure"):
        results.plot.utilisation(ax=Figure())


def test_figures_without_data_say_so_and_the_repr_lists_them(small: sim.Results) -> None:
    for name, what in [("coverage", "no notice coverage"), ("testing_queue", "no testing queue"),
                       ("lost_heads", "no lost heads"), ("sensitivity", "no sensitivity")]:
        with pytest.raises(ValueError, match=what):
            getattr(small.plot, name)()
        with pytest.raises(ValueError, match=what):
            getattr(small.plot, name)(ax=Figure().add_subplot())
    assert dir(small.plot) == sorted(FIGURES)
    assert repr(small.plot) == (
        "<figures of 'small': ecdf, p95, stages, utilisation, tradeoff, chain; no data for "
        "sensitivity, coverage, testing_queue, lost_heads; each returns a Figure, or draws one "
        "panel into ax=>")


def test_a_selector_that_names_one_panel_is_enough(results: sim.Results) -> None:
    ax = Figure().add_subplot()
    results.plot.p95(kind="critical", ax=ax)  # emergency is the only flow with that kind
    assert ax.get_title().startswith("emergency · critical")
    ax = Figure().add_subplot()
    results.plot.sensitivity(flow="feedback", ax=ax)
    assert ax.get_title("left").startswith("feedback · reply · mean: ")


def test_no_request_rows_no_ecdf_no_stage_times_no_stages(small: sim.Results) -> None:
    thin = dataclasses.replace(small, requests=small.requests.iloc[:0], kept_requests=False)
    with pytest.raises(ValueError, match="keep_requests=True"):
        thin.plot.ecdf(ax=Figure().add_subplot())
    thin = dataclasses.replace(small, stage_totals=small.stage_totals.iloc[:0])
    with pytest.raises(ValueError, match="no stage times in these results"):
        thin.plot.stages(ax=Figure().add_subplot())
    assert isinstance(thin.plot.stages(), Figure)  # the report's figure says "no requests"
