"""Who does a divisible piece of work: a head's staff, the depot teams, helper pools.

Helpers are volunteers who are not heads: a pool per grid, per community, or at
the depot (``helpers`` in the scenario), each with its own off-duty hours and the
stages it works on (``carry`` between heads, ``door`` drops, ``pack`` and ``bulk``
handling at the depot). :class:`Crews` answers, for a station and a stage, which
people may work on it and how many of each at once; the supply flow hands the
work to :func:`sim.heads.serve_shared`. Helpers share the heads' priority rules:
their supply work yields to emergencies exactly as a head's does.
"""

from __future__ import annotations

import networkx as nx
import simpy

from sim.chain import heads_above, level_number
from sim.heads import Station
from sim.scenario import HelperPool, Scenario

Crew = list[tuple[Station, int]]
"""(station, how many of its people may take part) pairs."""


class Crews:
    """Helper pools of one run, and the crew of every (station, stage)."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, graph: nx.DiGraph,
                 depot: Station) -> None:
        self.share = scenario.supply.share_work
        helpers = scenario.helpers
        self.pools: list[tuple[Station, HelperPool]] = []
        self._pool_of: dict[tuple[str, str], tuple[Station, HelperPool]] = {}
        for level_name, params in (("grid", helpers.grid), ("community", helpers.community)):
            if params is None:
                continue
            for node, data in graph.nodes(data=True):
                if data["kind"] == "head" and data["level"] == level_number(level_name):
                    pool = Station(env, f"helpers-{node}", params.count, 0, data["x_m"],
                                   data["floor"])
                    self.pools.append((pool, params))
                    self._pool_of[(node, level_name)] = (pool, params)
        self.depot = depot
        self.depot_pool: tuple[Station, HelperPool] | None = None
        if helpers.depot is not None:
            pool = Station(env, "helpers-depot", helpers.depot.count)
            self.depot_pool = (pool, helpers.depot)
            self.pools.append(self.depot_pool)
        self._nearest = self._nearest_pools(graph)
        self._cache: dict[tuple[Station, str], Crew] = {}

    def crew(self, station: Station, stage: str) -> Crew:
        """Who works on ``stage`` for ``station`` (a head, or the depot)."""
        key = (station, stage)
        crew = self._cache.get(key)
        if crew is None:
            if station is self.depot:
                pool = self.depot_pool
            else:
                pool = self._nearest.get((station.name, stage))
            crew = self._assemble(station, stage, pool)
            self._cache[key] = crew
        return crew

    def _assemble(self, station: Station, stage: str,
                  pool: tuple[Station, HelperPool] | None) -> Crew:
        own = station.capacity if self.share else 1
        if pool is None or stage not in pool[1].does:
            return [(station, own)]
        helpers, params = pool
        crew = [(helpers, helpers.capacity)]
        if params.heads_help:
            crew.insert(0, (station, own))
        return crew

    def _nearest_pools(self, graph: nx.DiGraph) -> dict[tuple[str, str],
                                                       tuple[Station, HelperPool]]:
        """Per (head, stage): its grid's pool if that pool does the stage, else its community's.

        Heads above grid level can only use their community's pool.
        """
        found: dict[tuple[str, str], tuple[Station, HelperPool]] = {}
        if not self._pool_of:
            return found
        for node, data in graph.nodes(data=True):
            if data["kind"] != "head":
                continue
            ancestors = [node, *heads_above(graph, node)]
            for stage in ("carry", "door"):
                for level_name in ("grid", "community"):
                    pool = next((self._pool_of[(a, level_name)] for a in ancestors
                                 if (a, level_name) in self._pool_of), None)
                    if pool is not None and stage in pool[1].does:
                        found[(node, stage)] = pool
                        break
        return found

