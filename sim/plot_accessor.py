"""``results.plot.<figure>(ax=None)``: the report's figures, one call each, for notebooks.

Without ``ax``, each method returns the matplotlib Figure the report embeds (saved at
the report's resolution, the same bytes). With ``ax``, it draws one panel of that
figure into the analyst's Axes, with the same code (:mod:`sim.plot_panels`,
:mod:`sim.chainplot`, :mod:`sim.plots_flows`, :mod:`sim.tornado`), puts the legend the
figure has below its panels on that Axes, and returns the Axes to restyle. Figures
with several panels take a selector for the one to draw (``flow=``, ``kind=``,
``metric=``, ``variant=``), needed only where more than one panel matches; an unknown
or ambiguous selection is a ValueError naming the choices. The figure's overall heading
(its suptitle) is not drawn into an Axes, except the chain's, which becomes its title.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import matplotlib
from matplotlib.axes import Axes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from sim.experiment import Results

FIGURES = ("ecdf", "p95", "stages", "utilisation", "tradeoff", "chain", "sensitivity",
           "coverage", "testing_queue", "lost_heads")
"""The accessor's figures, in the report's order."""
_PLURAL = {"flow": "flows", "kind": "kinds", "metric": "metrics", "variant": "variants"}


class PlotAccessor:
    """The report's figures for one :class:`sim.Results`, whole or a panel at a time."""

    def __init__(self, results: Results) -> None:
        from sim.results_io import plain

        self._results = plain(results)  # the figures read the tables as the report does

    def ecdf(self, flow: str = "supply", kind: str | None = None, *,
             ax: Axes | None = None) -> Figure | Axes:
        """Share of requests of ``flow`` answered within t: a panel per kind, a line per variant.

        With ``ax``: the panel of ``kind`` (needed when ``flow`` has several kinds).
        """
        from sim import plot_panels, plots
        from sim.style import variant_legend

        r = self._results
        if not r.kept_requests:
            raise ValueError("no request rows in these results (run with keep_requests=True)")
        keys = plot_panels.ecdf_keys(r)
        if ax is None:
            choose([(f,) for f in dict.fromkeys(f for f, _ in keys)], ("flow",), (flow,), "ecdf")
            return self._whole(plots.ecdf_figure, flow, kind=kind)
        flow, kind = choose(keys, ("flow", "kind"), (flow, kind), "ecdf")

        def draw(ax: Axes) -> None:
            plot_panels.ecdf_panel(ax, r, flow, kind)
            variant_legend(ax, r.variants, lines=True)
        return self._into(ax, draw)

    def p95(self, flow: str | None = None, kind: str | None = None, *,
            ax: Axes | None = None) -> Figure | Axes:
        """p95 response per variant with 95% confidence intervals, a panel per flow × kind."""
        from sim import plot_panels, plots

        r = self._results
        if ax is None:
            return self._whole(plots.p95_figure, flow=flow, kind=kind)
        flow, kind = choose(plots.flow_kinds(r), ("flow", "kind"), (flow, kind), "p95")
        return self._into(ax, lambda ax: plot_panels.p95_panel(ax, r, flow, kind))

    def stages(self, flow: str | None = None, kind: str | None = None, *,
               ax: Axes | None = None) -> Figure | Axes:
        """Where the time goes: mean minutes per stage per variant, a panel per flow × kind."""
        from sim import plot_panels, plots

        r = self._results
        if ax is None:
            return self._whole(plots.stages_figure, flow=flow, kind=kind)
        flow, kind = choose(plot_panels.stage_keys(r), ("flow", "kind"), (flow, kind), "stages",
                            missing="no stage times in these results (run with stages='first' "
                                    "or 'all')")
        return self._into(ax, lambda ax: plot_panels.stage_legend(
            ax, r, plot_panels.stages_panel(ax, r, flow, kind)))

    def utilisation(self, *, ax: Axes | None = None) -> Figure | Axes:
        """Utilisation of the heads by level, a box per variant (one panel)."""
        from sim import plot_panels, plots
        from sim.style import legend

        r = self._results
        if ax is None:
            return self._whole(plots.utilisation_figure)

        def draw(ax: Axes) -> None:
            plot_panels.utilisation_panel(ax, r)
            legend(ax, title="design")
        return self._into(ax, draw)

    def tradeoff(self, flow: str | None = None, kind: str | None = None, *,
                 ax: Axes | None = None) -> Figure | Axes:
        """Heads against p95 response: a point per variant, a panel per flow × kind."""
        from sim import plot_panels, plots
        from sim.style import variant_legend

        r = self._results
        if ax is None:
            return self._whole(plots.tradeoff_figure, flow=flow, kind=kind)
        flow, kind = choose(plot_panels.tradeoff_keys(r), ("flow", "kind"), (flow, kind),
                            "tradeoff", missing="no p95 in these results: no request was answered")

        def draw(ax: Axes) -> None:
            plot_panels.tradeoff_panel(ax, r, flow, kind)
            variant_legend(ax, r.variants, labels=plot_panels.tradeoff_labels(r))
        return self._into(ax, draw)

    def chain(self, variant: str | None = None, *, ax: Axes | None = None) -> Figure | Axes:
        """The chain of ``variant`` (default: the first) as a tree; with ``ax``, titled."""
        from sim import chainplot

        r = self._results
        (name,) = choose([(v,) for v in r.variants], ("variant",),
                         (variant or r.variants[0],), "chain")
        graph = r.chains[name]
        if ax is None:
            return self._whole(lambda _: chainplot.chain_figure(graph, name))

        def draw(ax: Axes) -> None:
            chainplot.chain_panel(ax, graph)
            chainplot.area_legend(ax)
            ax.set_title(chainplot.chain_title(graph, name))
        return self._into(ax, draw)

    def sensitivity(self, flow: str | None = None, kind: str | None = None,
                    metric: str | None = None, *, ax: Axes | None = None) -> Figure | Axes:
        """The sensitivity tornado, a panel per flow × kind × statistic (``metric``)."""
        from sim import tornado

        r = self._results
        if r.sensitivity is None:
            raise ValueError("no sensitivity table in these results (the scenario has no "
                             "sensitivity block, or it was not run)")
        if ax is None:
            return self._whole(tornado.tornado_figure, flow=flow, kind=kind, metric=metric)
        key = choose(tornado.tornado_keys(r), ("flow", "kind", "metric"), (flow, kind, metric),
                     "sensitivity")

        def draw(ax: Axes) -> None:
            tornado.tornado_panel(ax, r, key)
            tornado.tornado_legend(ax)
        return self._into(ax, draw)

    def coverage(self, *, ax: Axes | None = None) -> Figure | Axes:
        """Share of households who know a notice by time since issue, a line per variant."""
        from sim import plots_flows

        r = self._results
        if "coverage_curve" not in r.flow_tables:
            raise ValueError("no notice coverage in these results (the scenario issues no "
                             "notices)")
        if ax is None:
            return self._whole(plots_flows.coverage_figure)
        return self._into(ax, lambda ax: plots_flows.coverage_legend(
            ax, r, plots_flows.coverage_panel(ax, r)))

    def testing_queue(self, variant: str | None = None, *,
                      ax: Axes | None = None) -> Figure | Axes:
        """Longest queue at any testing point through each round, a panel per variant.

        First replication; a line per round.
        """
        from sim import plots_flows
        from sim.style import legend

        r = self._results
        if "testing_queue" not in r.flow_tables:
            raise ValueError("no testing queue in these results (the scenario runs no testing "
                             "rounds)")
        if ax is None:
            return self._whole(plots_flows.queue_figure, variant=variant)
        (name,) = choose([(v,) for v in plots_flows.queue_keys(r)], ("variant",), (variant,),
                         "testing_queue")
        def draw(ax: Axes) -> None:
            plots_flows.queue_panel(ax, r, name)
            legend(ax)

        return self._into(ax, draw)

    def lost_heads(self, variant: str | None = None, *,
                   ax: Axes | None = None) -> Figure | Axes:
        """Each target's share met per design with and without its lost heads, a panel per design.

        With ``ax``, ``variant`` names the design or its lossy twin.
        """
        from sim import plots_flows
        from sim.scenario_flows import loss_pairs

        r = self._results
        pairs = loss_pairs(r.scenario)
        if not pairs:
            raise ValueError("no lost heads in these results (no variant loses heads beside "
                             "the same design without losses)")
        if ax is None:
            return self._whole(plots_flows.losses_figure, variant=variant)
        design = next((p[0] for p in pairs if variant in p), variant)
        (design,) = choose([(p[0],) for p in pairs], ("variant",), (design,), "lost_heads")
        pair = next(p for p in pairs if p[0] == design)

        def draw(ax: Axes) -> None:
            plots_flows.losses_panel(ax, r, pair)
            plots_flows.losses_legend(ax, r, list(pair))
        return self._into(ax, draw)

    def _whole(self, draw: Callable[[Results], Figure], *args: object,
               **selectors: object) -> Figure:
        """The report's whole figure; panel selectors only make sense with ``ax``."""
        given = [f"{name}=" for name, value in selectors.items() if value is not None]
        if given:
            raise ValueError(f"{' and '.join(given)} pick the panel drawn into ax=; without ax "
                             "the figure holds every panel")
        return draw(self._results, *args)

    @staticmethod
    def _into(ax: Axes, draw: Callable[[Axes], object]) -> Axes:
        """Draw into the analyst's ``ax`` in the report's style (their rcParams untouched)."""
        from sim.style import STYLE

        if not isinstance(ax, Axes):
            raise TypeError(f"ax must be a matplotlib Axes, not {type(ax).__name__}")
        with matplotlib.rc_context(STYLE):
            draw(ax)
        return ax

    def __repr__(self) -> str:
        shown = [name for name in FIGURES if self._has(name)]
        missing = [name for name in FIGURES if name not in shown]
        tail = f"; no data for {', '.join(missing)}" if missing else ""
        return (f"<figures of {self._results.scenario.name!r}: {', '.join(shown)}{tail}; "
                "each returns a Figure, or draws one panel into ax=>")

    def __dir__(self) -> list[str]:
        return list(FIGURES)

    def _has(self, name: str) -> bool:
        """Whether these results have the data of figure ``name``."""
        from sim.scenario_flows import loss_pairs

        r = self._results
        return {"ecdf": r.kept_requests, "sensitivity": r.sensitivity is not None,
                "coverage": "coverage_curve" in r.flow_tables,
                "testing_queue": "testing_queue" in r.flow_tables,
                "lost_heads": bool(loss_pairs(r.scenario))}.get(name, True)


def choose(keys: Sequence[tuple], names: tuple[str, ...], given: tuple, what: str, *,
           missing: str = "") -> tuple:
    """The one panel key of ``keys`` matching ``given`` (None matches anything).

    Raises a ValueError naming the choices when a value is unknown, when no panel has
    that combination, or when several panels match; ``missing`` when there is no panel.
    """
    if not keys and missing:
        raise ValueError(missing)
    for position, (name, value) in enumerate(zip(names, given, strict=True)):
        choices = list(dict.fromkeys(str(k[position]) for k in keys))
        if value is not None and value not in choices:
            raise ValueError(f"{what}: no {name} {value!r} ({_PLURAL[name]}: "
                             f"{', '.join(choices) or 'none'})")
    found = [k for k in keys if all(v is None or k[p] == v for p, v in enumerate(given))]
    if len(found) == 1:
        return found[0]
    chosen = ", ".join(f"{n}={v!r}" for n, v in zip(names, given, strict=True) if v is not None)
    if not found:
        raise ValueError(f"{what}: no panel with {chosen} (panels: {_listed(keys)})")
    open_ = [f"{n}=" for p, n in enumerate(names) if len({k[p] for k in found}) > 1]
    raise ValueError(f"{what}: {len(found)} panels{' with ' + chosen if chosen else ''}; pick one "
                     f"with {' and '.join(open_)} (panels: {_listed(found)})")


def _listed(keys: Sequence[tuple]) -> str:
    return ", ".join(" · ".join(map(str, key)) for key in keys)
