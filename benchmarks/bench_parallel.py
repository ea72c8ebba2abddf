"""Parallel efficiency of local worker processes, measured in one run.

Runs the same experiment (every variant × N replications) with ``--jobs 1`` and
``--jobs 2`` and prints both wall times, the speed-up, and the parallel efficiency
T1 / (2 × T2) (target >= 85%), and checks the two give identical tables.

    python benchmarks/bench_parallel.py [scenarios/drill.yaml] [--replications 4]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's sim

from sim.experiment import run_experiment  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402


def timed(scenario, jobs: int):
    started = time.perf_counter()
    results = run_experiment(scenario, jobs=jobs, progress=False, stages="none")
    return time.perf_counter() - started, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="scenarios/drill.yaml")
    parser.add_argument("--replications", type=int, default=4)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario, replications=args.replications)
    runs = len(scenario.variants) * scenario.replications
    one, serial = timed(scenario, 1)
    two, parallel = timed(scenario, 2)
    same = serial.requests.equals(parallel.requests) and serial.summary.equals(parallel.summary)
    print(f"scenario            {scenario.name}: {runs} runs")
    print(f"--jobs 1            {one:.1f} s")
    print(f"--jobs 2            {two:.1f} s")
    print(f"speed-up            {one / two:.2f}x")
    print(f"parallel efficiency {one / (2 * two):.0%}  (target >= 85%)")
    print(f"identical results   {same}")


if __name__ == "__main__":
    main()
