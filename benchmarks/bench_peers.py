"""The M/M/3 validation queue in this simulator, in hand-written SimPy, and in Ciw.

All three serve the very same customers: the arrival times and service times are the
ones this simulator draws for the scenario (its demand for replication 0), fed to the
hand-written SimPy model as lists and to Ciw as ``Sequential`` distributions. Prints the
wall time of each (best of ``--repeat``), the ratios, and each one's mean time in system,
which must agree (the same sample path; only ties may be ordered differently).

    python benchmarks/bench_peers.py [scenarios/validation/mm3_rho09.yaml] [--repeat 3]

Ciw (https://ciw.readthedocs.io) is not a dependency of the project; install it in the
benchmark environment only: ``pip install ciw``. Without it its line says so and the
rest runs.

Targets (issue 13): this simulator within 1.5x of hand-written SimPy, and at least 2x
faster than Ciw.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import simpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.chain import build_chain, chain_for_variant  # noqa: E402
from sim.model import Drill  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402


def ours(scenario, graph) -> tuple[float, float, int]:
    """Seconds for one replication (build, run, records); mean time in system; customers."""
    started = time.perf_counter()
    records = Drill(scenario, graph, 0).run()
    seconds = time.perf_counter() - started
    requests = records.requests
    done = requests[requests["status"] == "completed"]
    return seconds, float((done["completed_min"] - done["created_min"]).mean()), len(done)


def customers(scenario, graph) -> tuple[list[float], list[float], int]:
    """Arrival times and service times of this simulator's replication 0, and the servers."""
    drill = Drill(scenario, graph, 0)
    orders = drill.supply.orders
    (station,) = {path[0] for path in drill.supply.up}
    column = station.level - 1
    return list(orders.time), [r[column] for r in orders.relay], station.capacity


def hand_simpy(arrivals: list[float], services: list[float], servers: int,
               horizon: float) -> tuple[float, float, int]:
    """The same queue as a textbook SimPy model: source, Resource, request/timeout/release."""
    started = time.perf_counter()
    env = simpy.Environment()
    desk = simpy.Resource(env, servers)
    times: list[float] = []

    def customer(service: float):
        arrived = env.now
        with desk.request() as request:
            yield request
            yield env.timeout(service)
        times.append(env.now - arrived)

    def source():
        for at, service in zip(arrivals, services, strict=True):
            yield env.timeout(at - env.now)
            env.process(customer(service))

    env.process(source())
    env.run(until=horizon)
    return time.perf_counter() - started, float(np.mean(times)), len(times)


def ciw_model(arrivals: list[float], services: list[float], servers: int,
              horizon: float) -> tuple[float, float, int] | None:
    """The same queue in Ciw, or None when Ciw is not installed."""
    try:
        import ciw
    except ImportError:
        return None
    gaps = np.diff([0.0, *arrivals]).tolist()
    started = time.perf_counter()
    network = ciw.create_network(arrival_distributions=[ciw.dists.Sequential(gaps)],
                                 service_distributions=[ciw.dists.Sequential(services)],
                                 number_of_servers=[servers])
    ciw.seed(0)
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time(horizon)
    seconds = time.perf_counter() - started
    records = simulation.get_all_records()
    return seconds, float(np.mean([r.exit_date - r.arrival_date for r in records])), len(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="scenarios/validation/mm3_rho09.yaml")
    parser.add_argument("--repeat", type=int, default=3, help="best of N timings")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    graph = chain_for_variant(build_chain(scenario), scenario, scenario.variants[0])
    arrivals, services, servers = customers(scenario, graph)
    horizon = scenario.horizon

    rows = {"this simulator": min((ours(scenario, graph) for _ in range(args.repeat)),
                                  key=lambda r: r[0]),
            "hand-written SimPy": min((hand_simpy(arrivals, services, servers, horizon)
                                       for _ in range(args.repeat)), key=lambda r: r[0])}
    timed = [ciw_model(arrivals, services, servers, horizon) for _ in range(args.repeat)]
    if timed[0] is not None:
        rows["Ciw"] = min(timed, key=lambda r: r[0])
    print(f"scenario            {scenario.name}: M/M/{servers}, {len(arrivals):,} customers, "
          f"horizon {horizon:g} min, best of {args.repeat}")
    for name, (seconds, mean, served) in rows.items():
        print(f"{name:<20}{seconds:6.2f} s  mean time in system {mean:.4f} min  "
              f"({served:,} served)")
    if "Ciw" not in rows:
        print("Ciw                 not installed (pip install ciw): skipped")
    mine, hand = rows["this simulator"][0], rows["hand-written SimPy"][0]
    print(f"ours / hand SimPy   {mine / hand:.2f}x  (target <= 1.5x)")
    if "Ciw" in rows:
        print(f"Ciw / ours          {rows['Ciw'][0] / mine:.2f}x  (target >= 2x)")


if __name__ == "__main__":
    main()
