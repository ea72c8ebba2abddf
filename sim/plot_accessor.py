"""``results.plot.<figure>()``: the report's figures, one call each, for notebooks.

A thin accessor over :mod:`sim.plots` (and :mod:`sim.tornado`): each method returns the
matplotlib Figure the report embeds, which the analyst can restyle through
``figure.axes`` or save. Nothing is drawn here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from sim.experiment import Results


class PlotAccessor:
    """The report's figures for one :class:`sim.Results`."""

    def __init__(self, results: Results) -> None:
        from sim.results_io import plain

        self._results = plain(results)  # the figures read the tables as the report does

    def ecdf(self, flow: str = "supply") -> Figure:
        """Share of requests of ``flow`` answered within t, per kind; a line per variant."""
        from sim import plots

        if not self._results.kept_requests:
            raise ValueError("no request rows in these results (run with keep_requests=True)")
        return plots.ecdf_figure(self._results, flow)

    def p95(self) -> Figure:
        """p95 response per variant, per flow and kind, with 95% confidence intervals."""
        from sim import plots

        return plots.p95_figure(self._results)

    def stages(self) -> Figure:
        """Where the time goes: mean minutes per stage, per variant."""
        from sim import plots

        return plots.stages_figure(self._results)

    def utilisation(self) -> Figure:
        """Utilisation of the heads by level, per variant."""
        from sim import plots

        return plots.utilisation_figure(self._results)

    def tradeoff(self) -> Figure:
        """Heads (cost) against p95 response (speed), per variant."""
        from sim import plots

        return plots.tradeoff_figure(self._results)

    def chain(self, variant: str | None = None) -> Figure:
        """The chain of ``variant`` (default: the first)."""
        from sim import plots

        name = variant or self._results.variants[0]
        if name not in self._results.chains:
            raise KeyError(f"no variant {name!r} (variants: "
                           f"{', '.join(self._results.variants)})")
        return plots.chain_figure(self._results.chains[name], name)

    def sensitivity(self) -> Figure:
        """The sensitivity tornado (results of a scenario with a sensitivity block)."""
        from sim import tornado

        if self._results.sensitivity is None:
            raise ValueError("no sensitivity table in these results")
        return tornado.tornado_figure(self._results)

    def __repr__(self) -> str:
        names = [n for n in ("ecdf", "p95", "stages", "utilisation", "tradeoff", "chain",
                             "sensitivity")]
        return f"<figures of {self._results.scenario.name!r}: {', '.join(names)}>"

    def __dir__(self) -> list[str]:
        return ["ecdf", "p95", "stages", "utilisation", "tradeoff", "chain", "sensitivity"]
