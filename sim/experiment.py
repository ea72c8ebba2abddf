"""Many runs: replications × granularity variants on one executor interface.

Each run is a pure function of (scenario, variant, replication): it builds its
chain, runs the drill and returns compact records, never live objects. Runs go to
a local process pool, or to a Dask cluster through ``Client.get_executor()`` (the
same ``concurrent.futures`` interface); results are put back in (variant,
replication) order, so the output is byte-identical whatever the executor and the
number of workers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import pandas as pd
from tqdm.auto import tqdm

from sim import coverage, metrics
from sim import sensitivity as sens
from sim.chain import build_chain, chain_for_variant, cost_table, layout_key
from sim.errors import NoRequestsError
from sim.executors import executor_for
from sim.interrupts import deferred_signals
from sim.model import Drill, RunRecords
from sim.overrides import variant_scenario
from sim.scenario import LEVELS, Scenario
from sim.settings import DASK_ENV, STAGES_KEPT
from sim.stage_store import Part, Spool, StageStore, stage_file_path
from sim.workers import give_back_freed_memory

if TYPE_CHECKING:
    from sim.plot_accessor import PlotAccessor

_CHAINS: dict[tuple[str, ...], nx.DiGraph] = {}
_CHAINS_KEPT = 12
_CHAIN_NODES_KEPT = 300_000
"""Chains kept per process, and their nodes in all: a city district's chain (400,000+
nodes, ~1 KiB each) is built again rather than kept beside the one in use."""
HOUSEHOLDS_IN_RESULTS = 50_000
"""Above this many households, ``Results.chains`` holds the heads only (see :func:`gather`)."""


@dataclass(repr=False)
class Results:
    """Everything an experiment produced, as DataFrames (minutes throughout)."""

    scenario: Scenario
    chains: dict[str, nx.DiGraph]
    requests: pd.DataFrame
    stage_log: StageStore  # the kept runs' stage rows, read whole as ``stages``
    heads: pd.DataFrame
    resources: pd.DataFrame
    stage_totals: pd.DataFrame
    conservation: pd.DataFrame
    per_replication: pd.DataFrame
    summary: pd.DataFrame
    costs: pd.DataFrame
    kept_requests: bool = True
    sensitivity: pd.DataFrame | None = None
    flow_tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # sim/coverage.py

    @property
    def variants(self) -> list[str]:
        """Variant names in scenario order."""
        return list(self.chains)

    @property
    def total_heads(self) -> dict[str, int]:
        """Heads in the chain of each variant, all levels together."""
        first = self.costs.drop_duplicates("variant")
        return {v: int(n) for v, n in zip(first["variant"], first["variant_heads"], strict=True)}

    @property
    def total_people(self) -> dict[str, int]:
        """People staffing the heads of each variant, all levels together."""
        people = self.costs.groupby("variant", sort=False)["people"].sum()
        return {v: int(n) for v, n in people.items()}

    @property
    def stages(self) -> pd.DataFrame:
        """One row per hop of a request in the kept runs (joined when first asked for).

        A large run's rows wait in files until then (:mod:`sim.stage_store`).
        """
        return self.stage_log.frame()

    @property
    def stage_breakdown(self) -> pd.DataFrame:
        """Mean minutes per request in each stage, per variant, flow and kind."""
        return metrics.stage_breakdown(self.stage_totals)

    # ---- for analysts: sim/results_io.py and sim/plot_accessor.py do the work ----------------

    def save(self, out: str | Path, *, format: str = "csv", figures: bool = True,  # noqa: A002
             force: bool = False) -> Path:
        """Write the results folder (``format`` ``csv`` or ``parquet``); see :func:`load`."""
        from sim.results_io import save

        return save(self, out, format=format, figures=figures, force=force)

    @classmethod
    def load(cls, folder: str | Path) -> Results:
        """Read a results folder (written by ``save`` or the command line) back."""
        from sim.results_io import load

        return load(folder)

    @property
    def plot(self) -> PlotAccessor:
        """The report's figures, one method each: ``results.plot.p95()``, or a panel: ``ax=``."""
        from sim.plot_accessor import PlotAccessor

        return PlotAccessor(self)

    def __repr__(self) -> str:
        from sim.results_io import text_repr

        return text_repr(self)

    def _repr_html_(self) -> str:
        from sim.results_io import html_repr

        return html_repr(self)


def run_one(scenario: Scenario, variant: str, replication: int,
            keep_stages: bool = True, keep_requests: bool = True,
            describe_chain: bool = False, spool: str | None = None) -> RunRecords:
    """One replication of one variant, reduced where it ran.

    The run's own statistics (per-replication metrics, conservation, stage totals) are
    computed here, in the worker; the stage log and the request rows travel back only
    if kept, so a run without them returns a few kilobytes. ``describe_chain`` adds
    the variant's cost table and its chain for the results (``extra["costs"]`` and
    ``extra["chain"]``), so the main process never builds a chain itself. With a
    ``spool`` folder, kept stage rows go to a file there as the run goes
    (``extra["stage_file"]``: its path and row count, see :mod:`sim.stage_store`),
    not back with the records.
    """
    own = variant_scenario(scenario, variant)
    graph = _variant_chain(scenario, variant, keep_base=False)
    stage_file = stage_file_path(spool, variant, replication) if keep_stages and spool else None
    drill = Drill(own, graph, replication, stage_file)
    described = _describe_chain(graph) if describe_chain else None
    del graph
    large = _forget_if_large(drill.graph)
    if large:
        drill.drop_chain()
    records = drill.run()
    del drill  # the model (households, stations, pending events) before the reduction
    if large:  # a city district's model: its pages go back before the reduction
        give_back_freed_memory()
    if described is not None:
        records.extra["costs"], records.extra["chain"] = described
    records.variant = variant  # the chain may be shared by variants of one structure
    requests = metrics.requests_frame([records], strings=False)
    scenario = own
    records.extra["per_replication"] = metrics.replication_metrics(requests, scenario)
    records.extra["conservation"] = metrics.conservation([records], requests)
    records.extra["stage_totals"] = metrics.stage_totals(records, scenario, requests)
    records.extra["flow_tables"] = coverage.per_run(records, requests, scenario)
    if not keep_stages:
        records.stages = records.stages.iloc[:0]
    if not keep_requests:
        records.requests = records.requests.iloc[:0]
    return records


def run_experiment(
    scenario: Scenario,
    jobs: int | None = None,
    dask_address: str | None = None,
    progress: bool = True,
    stages: str = "first",
    variants: Sequence[str] | None = None,
    keep_requests: bool = True,
    spool: Spool | None = None,
) -> Results:
    """Run every variant × replication and gather the tables.

    ``jobs`` local processes (default: all cores; 1 runs in this process), or the
    Dask scheduler at ``dask_address`` (default: the ``SIM_DASK_ADDRESS`` variable).
    ``stages`` keeps the hop-by-hop log of the ``first`` replication of each variant,
    of ``all`` runs, or of ``none`` (stage totals are kept for every run regardless).
    ``keep_requests=False`` leaves the request rows in the workers (the summary does
    not need them): memory then stays flat however many runs there are. Kept stage rows
    wait in files in ``spool`` (default: a new one, removed with the results; see
    :mod:`sim.stage_store`), unless the runs go to Dask.
    """
    if stages not in STAGES_KEPT:
        raise ValueError(f"stages must be one of {STAGES_KEPT}, got {stages!r}")
    names = list(variants) if variants else [v.name for v in scenario.variants]
    for name in names:
        scenario.variant(name)  # KeyError for an unknown variant
    dask_address = dask_address or os.environ.get(DASK_ENV) or None
    # Kept stage rows wait in files the workers write, unless they run on a cluster that
    # shares no folder with this process.
    if dask_address or stages == "none":
        spool = None
    elif spool is None:
        spool = Spool()
    folder = str(spool.path) if spool else None
    tasks = [(scenario, name, rep, _keep(stages, rep), keep_requests, rep == 0, folder)
             for rep in range(scenario.replications) for name in names]
    plan = sens.plan(scenario, names)
    tasks += plan.tasks if plan else []
    runs: dict[int, RunRecords] = {}
    bar = tqdm(total=len(tasks), desc=f"{scenario.name}", unit="run", file=sys.stderr,
               disable=not progress, dynamic_ncols=True)
    try:
        with executor_for(jobs, dask_address, len(tasks)) as executor:
            if executor is None:
                for k, task in enumerate(tasks):
                    runs[k] = run_one(*task)
                    bar.update()
            else:
                # A few runs per worker in flight, the next submitted as one finishes:
                # memory stays flat however many runs there are.
                window = 2 * getattr(executor, "slots", 1)
                waiting = iter(enumerate(tasks))
                futures: dict[Future, int] = {}
                try:
                    while True:
                        # Interrupts wait for the executor's locks to be released.
                        with deferred_signals():
                            for k, task in islice(waiting, window - len(futures)):
                                futures[executor.submit(run_one, *task)] = k
                            if not futures:
                                break
                            done, _ = wait(futures, timeout=0.2, return_when=FIRST_COMPLETED)
                        for future in done:
                            runs[futures.pop(future)] = future.result()
                            bar.update()
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise
    except BaseException:
        if spool is not None:
            spool.remove()
        raise
    finally:
        bar.close()
    main = len(names) * scenario.replications
    by_key = {(run.variant, run.replication): run for k, run in runs.items() if k < main}
    ordered = [by_key[(name, rep)] for name in names for rep in range(scenario.replications)]
    if all(run.extra["per_replication"].empty for run in ordered):
        raise NoRequestsError(f"no request was created within the horizon "
                              f"({scenario.horizon:g} min) in any run: nothing to compare; "
                              "check horizon and demand rates")
    results = gather(scenario, ordered, names, keep_requests, spool)
    if plan:
        results.sensitivity = sens.table(plan, results, [runs[k] for k in range(main, len(tasks))])
    return results


def gather(scenario: Scenario, runs: list[RunRecords], names: Sequence[str],
           kept_requests: bool = True, spool: Spool | None = None) -> Results:
    """Build the result tables from run records already in (variant, replication) order.

    The runs' request and stage rows move into the tables: the runs keep empty ones.
    Stage rows a run wrote to a file in ``spool`` stay there (see :mod:`sim.stage_store`).
    """
    # Each variant's chain and costs come from the worker that ran its first replication
    # (``run_one(describe_chain=True)``); runs made without them are described here.
    chains, costs = {}, []
    firsts = {}
    for run in runs:
        firsts.setdefault(run.variant, run)
    for name in names:
        described = firsts[name].extra.pop("costs", None), firsts[name].extra.pop("chain", None)
        if described[1] is None:
            described = _describe_chain(_variant_chain(scenario, name))
        costs.append(described[0].assign(variant=name))
        chains[name] = described[1]
    _trim_chains()  # a city district's chains leave the main process before the outputs
    per_replication = pd.concat([run.extra["per_replication"] for run in runs],
                                ignore_index=True)
    costs = pd.concat(costs, ignore_index=True)
    costs = costs[["variant", "level", "heads", "people", "households_per_head"]]
    costs["variant_heads"] = costs.groupby("variant", sort=False)["heads"].transform("sum")
    totals = [run.extra["stage_totals"] for run in runs]
    # The runs' rows move into the tables: each kind is held twice only while it is joined.
    requests = metrics.requests_frame(runs, consume=True)
    parts = []
    for run in runs:
        path, rows = run.extra.pop("stage_file", (None, 0))
        parts.append(Part(run.variant, run.replication, rows, path) if path
                     else Part(run.variant, run.replication, len(run.stages), run.stages))
        run.stages = run.stages.iloc[:0]
    return Results(
        scenario=scenario,
        chains=chains,
        requests=requests,
        stage_log=StageStore.from_parts(parts, spool),
        heads=metrics.heads_frame(runs),
        resources=metrics.heads_frame(runs, beside=True),
        stage_totals=pd.concat(totals, ignore_index=True) if totals else pd.DataFrame(),
        conservation=pd.concat([run.extra["conservation"] for run in runs], ignore_index=True),
        per_replication=per_replication,
        summary=metrics.summarise(per_replication, names, scenario.replications),
        costs=costs,
        kept_requests=kept_requests,
        flow_tables=coverage.gather([run.extra["flow_tables"] for run in runs], names),
    )


def _trim_chains() -> None:
    """Drop cached chains, oldest first, until they hold :data:`_CHAIN_NODES_KEPT` nodes."""
    while _CHAINS and sum(len(g) for g in _CHAINS.values()) > _CHAIN_NODES_KEPT:
        _CHAINS.pop(next(iter(_CHAINS)))


def _forget_if_large(graph: nx.DiGraph) -> bool:
    """Drop ``graph`` from the cache when it alone is over :data:`_CHAIN_NODES_KEPT` nodes.

    A worker then holds a city district's chain only while it builds the model.
    """
    if len(graph) <= _CHAIN_NODES_KEPT:
        return False
    for key in [k for k, g in _CHAINS.items() if g is graph]:
        del _CHAINS[key]
    return True


def _describe_chain(graph: nx.DiGraph) -> tuple[pd.DataFrame, nx.DiGraph]:
    """A variant's cost table and its chain for the results (see :func:`_results_chain`).

    The costs are read from the full chain, before a city district's chain loses its
    household nodes.
    """
    return pd.DataFrame(cost_table(graph)), _results_chain(graph)


def _results_chain(graph: nx.DiGraph) -> nx.DiGraph:
    """A copy of ``graph`` for the results: whole, or its heads only.

    Heads only above :data:`HOUSEHOLDS_IN_RESULTS` households (then
    ``graph.graph['heads_only']`` is set; every head still has its ``households`` count).
    """
    households = [n for n, kind in graph.nodes(data="kind") if kind == "household"]
    if len(households) <= HOUSEHOLDS_IN_RESULTS:
        return graph.copy()
    heads = graph.subgraph(n for n, kind in graph.nodes(data="kind") if kind != "household")
    kept = nx.DiGraph(heads)
    kept.graph["heads_only"] = True
    return kept


def _keep(stages: str, replication: int) -> bool:
    return stages == "all" or (stages == "first" and replication == 0)


def _variant_chain(scenario: Scenario, variant: str, keep_base: bool = True) -> nx.DiGraph:
    """The chain of one variant, kept per process (runs never modify it).

    Variants with the same layout, transforms and staff share one chain, whatever
    else their ``set:`` changes. Chains are kept up to :data:`_CHAIN_NODES_KEPT` nodes in
    all, least recently used dropped first; the full chain the variant was derived from
    stays with ``keep_base`` (deriving the next variant then skips laying it out again).
    Without ``keep_base``, a full chain too large to keep becomes the variant's in place.
    """
    own = variant_scenario(scenario, variant)
    spec = own.variants[0]
    base_key = layout_key(own)
    key = (base_key, spec.model_dump_json(exclude={"name"}),
           ",".join(str(own.head_level(level).staff) for level in LEVELS))
    if key not in _CHAINS:
        if (base_key,) in _CHAINS:
            _CHAINS[key] = chain_for_variant(_CHAINS[(base_key,)], own, spec)
        else:
            base = build_chain(own)
            if keep_base or len(base) <= _CHAIN_NODES_KEPT:
                _CHAINS[(base_key,)] = base
                _CHAINS[key] = chain_for_variant(base, own, spec)
            else:  # too large to keep: the variant is made of it in place, without a copy
                _CHAINS[key] = chain_for_variant(base, own, spec, copy=False)
            del base
    graph = _CHAINS[key] = _CHAINS.pop(key)  # most recently used last
    kept = {key, (base_key,)} if keep_base else {key}
    while len(_CHAINS) > _CHAINS_KEPT or sum(len(g) for g in _CHAINS.values()) > _CHAIN_NODES_KEPT:
        oldest = next((k for k in _CHAINS if k not in kept), None)
        if oldest is None:
            break
        _CHAINS.pop(oldest)
    return graph
