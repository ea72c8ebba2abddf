"""Cost of the scale ladder: one community, a subdistrict, a city district.

For each rung (``python scripts/scale.py`` writes them), in a fresh process: one
replication of its first variant (five levels): seconds to build the chain, to build the
model and to run it; events (SimPy events scheduled); events/s; peak RSS (the process's
resident set, whole); bytes per request (peak RSS above the bare interpreter with its
imports, over the requests of the run, and the kept tables alone: the request table and
the stage rows, which the run writes to a file as it goes, as a worker does, at 29 bytes
a row). Then the growth from
rung to rung as an exponent of households (1 = linear): time ~ households^b.

With ``--cli``, also the whole command each planner would run: ``python -m sim RUNG
--jobs N --quiet`` (every variant x 1 replication, default outputs: tables with the
stages of the first replication, figures, report), wall time and the peak RSS of the
largest process (main or worker).

    python benchmarks/bench_scale.py [--rungs community subdistrict city] [--cli] [--jobs 2]

Targets (issue 13; 2-core machine): the city district, every variant x 1 replication,
under 5 minutes and under 2 GB peak RSS in any process, default outputs.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNGS = {"community": "scenarios/scale/community.yaml",
         "subdistrict": "scenarios/scale/subdistrict.yaml",
         "city": "scenarios/city.yaml"}


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def one(path: str) -> dict:
    """One replication of the first variant of ``path``, measured in this process."""
    sys.path.insert(0, str(ROOT))
    from sim import metrics
    from sim.chain import build_chain, chain_for_variant
    from sim.experiment import _CHAIN_NODES_KEPT
    from sim.model import Drill, fewer_collections
    from sim.scenario import load_scenario
    from sim.stage_store import CODES, Spool, stage_file_path

    scenario = load_scenario(ROOT / path)
    variant = scenario.variants[0]
    base_rss = _rss_mib()
    started = time.perf_counter()
    graph = chain_for_variant(build_chain(scenario), scenario, variant)
    chain_s = time.perf_counter() - started
    households = sum(1 for _, kind in graph.nodes(data="kind") if kind == "household")
    started = time.perf_counter()
    spool = Spool()  # the stage rows go to a file as the run goes, as in a worker
    drill = Drill(scenario, graph, 0, stage_file_path(spool.path, variant.name, 0))
    if len(graph) > _CHAIN_NODES_KEPT:  # as a worker does (sim.experiment.run_one)
        drill.drop_chain()
        del graph
    drill.start()
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    with fewer_collections():
        drill.env.run(until=scenario.horizon)
    run_s = time.perf_counter() - started
    events = next(drill.env._eid)  # SimPy numbers every event it schedules
    started = time.perf_counter()
    records = drill.records()
    requests = metrics.requests_frame([records], strings=False)  # as a worker reduces
    metrics.replication_metrics(requests, scenario)
    metrics.stage_totals(records, scenario, requests)
    reduce_s = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = len(records.requests)
    stage_rows = records.extra["stage_file"][1]
    row_bytes = sum(field.type.bit_width for field in CODES) // 8  # a stage row in the file
    tables = records.requests.memory_usage(deep=True).sum() + row_bytes * stage_rows
    spool.remove()
    return {"rung": scenario.name, "variant": variant.name, "households": households,
            "requests": n, "stages": stage_rows, "events": events,
            "chain_s": chain_s, "build_s": build_s, "run_s": run_s, "reduce_s": reduce_s,
            "events_per_s": events / run_s, "peak_mib": peak, "base_mib": base_rss,
            "bytes_per_request": (peak - base_rss) * 2**20 / max(n, 1),
            "table_bytes_per_request": tables / max(n, 1)}


def cli(path: str, jobs: int) -> dict:
    """The whole default command on ``path``: wall time and the largest process's peak RSS."""
    with tempfile.TemporaryDirectory() as folder:
        wrapper = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
                   "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", wrapper, sys.executable, "-m", "sim", path,
                               "--jobs", str(jobs), "--quiet", "--out", f"{folder}/out"],
                              cwd=ROOT, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - started
        size = sum(f.stat().st_size for f in Path(folder, "out").rglob("*") if f.is_file())
    return {"wall_s": wall, "peak_mib": int(done.stdout.split()[-1]) / 1024,
            "output_mib": size / 2**20}


def exponent(rows: list[dict], key: str) -> list[str]:
    """Growth of ``key`` between successive rungs as a power of households."""
    found = []
    for small, big in zip(rows, rows[1:], strict=False):
        b = (math.log(big[key] / small[key]) / math.log(big["households"] / small["households"]))
        found.append(f"{small['rung']}->{big['rung']} {b:.2f}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rungs", nargs="+", default=list(RUNGS), choices=list(RUNGS))
    parser.add_argument("--cli", action="store_true", help="also time the whole command")
    parser.add_argument("--jobs", type=int, default=2, help="--jobs of the whole command")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    rows = []
    for rung in args.rungs:
        done = subprocess.run([sys.executable, __file__, "--one", RUNGS[rung]], cwd=ROOT,
                              capture_output=True, text=True, check=True)
        row = json.loads(done.stdout.splitlines()[-1])
        rows.append(row)
        print(f"{rung:<12} {row['households']:>8,} hh {row['requests']:>9,} requests "
              f"{row['events']:>11,} events | chain {row['chain_s']:6.1f} s  model "
              f"{row['build_s']:5.1f} s  run {row['run_s']:6.1f} s  reduce {row['reduce_s']:5.1f} s"
              f" | {row['events_per_s']:>8,.0f} ev/s | peak {row['peak_mib']:6.0f} MiB "
              f"({row['bytes_per_request']:,.0f} B/request; tables "
              f"{row['table_bytes_per_request']:,.0f} B/request)", flush=True)
    if len(rows) > 1:
        for row in rows:
            row["total_s"] = row["chain_s"] + row["build_s"] + row["run_s"] + row["reduce_s"]
            row["memory_mib"] = row["peak_mib"] - row["base_mib"]
        print("growth as households^b (b = 1 is linear):")
        print("  time (whole replication) " + "; ".join(exponent(rows, "total_s")))
        print("  event loop               " + "; ".join(exponent(rows, "run_s")))
        print("  memory above interpreter " + "; ".join(exponent(rows, "memory_mib")))
    if args.cli:
        for rung in args.rungs:
            row = cli(RUNGS[rung], args.jobs)
            print(f"python -m sim {RUNGS[rung]} --jobs {args.jobs}: {row['wall_s']:.0f} s, "
                  f"peak {row['peak_mib']:.0f} MiB in the largest process, "
                  f"{row['output_mib']:.0f} MiB written", flush=True)


if __name__ == "__main__":
    main()
