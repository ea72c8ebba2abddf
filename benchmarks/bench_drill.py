"""Speed of one replication of a scenario, against a bare-SimPy floor measured in the same run.

Prints: events processed, wall time of the event loop and of the whole replication
(build + run + records), events per second, peak memory of the replication
(tracemalloc, measured in a separate untimed pass), and the events per second of a
bare SimPy Resource request / timeout / release loop of the same event count (the
floor), with the model's rate as a share of the floor's, and the loop's time counted in
the floor's events per request (the model's cost, whatever its own event count).

    python benchmarks/bench_drill.py [scenarios/drill.yaml] [--variant NAME] [--repeat 3]

Targets: model >= 60% of the floor's event rate (issue 13; 40% in issue 2); one
replication of the default drill under 3 s on an idle machine.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import simpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's sim

from sim.chain import build_chain, chain_for_variant  # noqa: E402
from sim.experiment import run_one  # noqa: E402
from sim.model import Drill, fewer_collections  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402


def count_events(scenario, graph) -> tuple[int, float]:
    """Events processed and seconds spent in the event loop of one replication."""
    drill = Drill(scenario, graph, 0)
    drill.start()
    env, horizon = drill.env, scenario.horizon
    events = 0
    with fewer_collections():  # as Drill.run() does
        started = time.perf_counter()
        while env.peek() < horizon:
            env.step()
            events += 1
        return events, time.perf_counter() - started


def bare_simpy(events: int, servers: int = 20) -> tuple[int, float]:
    """The floor: a textbook M/M/1 model per server in bare SimPy, run for ``events`` steps.

    A source process starts a customer process per arrival; each customer requests
    a plain Resource, holds it for a timeout and releases it: the request / timeout /
    release pattern the drill's heads follow, with none of the drill's bookkeeping.
    """
    import random

    env = simpy.Environment()
    rng = random.Random(1)
    resources = [simpy.Resource(env, 1) for _ in range(servers)]

    def customer(resource: simpy.Resource):
        with resource.request() as request:
            yield request
            yield env.timeout(rng.expovariate(1.0))

    def source():
        while True:
            yield env.timeout(rng.expovariate(0.8 * servers))
            env.process(customer(resources[rng.randrange(servers)]))

    env.process(source())
    done = 0
    started = time.perf_counter()
    while done < events:
        env.step()
        done += 1
    return done, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="scenarios/drill.yaml")
    parser.add_argument("--variant", default=None, help="variant (default: the first)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N timings")
    args = parser.parse_args()

    scenario = load_scenario(args.scenario)
    variant = args.variant or scenario.variants[0].name
    graph = chain_for_variant(build_chain(scenario), scenario, scenario.variant(variant))

    loop = min((count_events(scenario, graph) for _ in range(args.repeat)), key=lambda r: r[1])
    events, loop_s = loop
    whole_s = float("inf")
    for _ in range(args.repeat):
        started = time.perf_counter()
        run_one(scenario, variant, 0, keep_stages=False)
        whole_s = min(whole_s, time.perf_counter() - started)
    floor_events, floor_s = min((bare_simpy(events) for _ in range(args.repeat)),
                                key=lambda r: r[1])

    tracemalloc.start()
    records = run_one(scenario, variant, 0, keep_stages=True)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    requests = len(records.requests)

    model_rate, floor_rate = events / loop_s, floor_events / floor_s
    print(f"scenario            {scenario.name} / {variant}, horizon {scenario.horizon / 60:g} h")
    print(f"events processed    {events:,}")
    print(f"event loop          {loop_s:.2f} s  ({model_rate:,.0f} events/s)")
    print(f"one replication     {whole_s:.2f} s  (build + run + records + stage totals)")
    print(f"peak memory         {peak / 2**20:.1f} MiB  (tracemalloc, one replication)")
    print(f"bare SimPy floor    {floor_rate:,.0f} events/s  ({floor_events:,} events)")
    print(f"model / floor       {model_rate / floor_rate:.0%}  (target >= 60%)")
    # The ratio falls when cheap events are cut; the loop's time in floor events does not.
    print(f"loop in floor events {loop_s * floor_rate / requests:.1f} per request "
          f"({requests:,} requests: the floor's events in the loop's time)")


if __name__ == "__main__":
    main()
