"""The command line: ``python -m sim SCENARIO.yaml [options]``.

The first argument is a scenario file, or the name of a subcommand; subcommands
(``check``, ``validate``, ``schema``) stand beside the plain run. Bad
input, a refused ``--out`` or a run too large gets one line on stderr and exit status
2, before any work; Ctrl-C exits 130 and SIGTERM 143, leaving no half-written results;
a run whose requests do not balance exits 1.
"""

from __future__ import annotations

import argparse
import importlib
import math
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from sim.errors import NoRequestsError, one_line
from sim.estimate import check_size
from sim.interrupts import RECEIVED, deferred_signals
from sim.overrides import apply_arguments
from sim.scenario import ScenarioError, load_scenario
from sim.settings import DASK_ENV, STAGES_KEPT
from sim.units import shown

if TYPE_CHECKING:
    from sim.experiment import Results
    from sim.scenario import Scenario
    from sim.stage_store import Spool

# The run imports pandas, scipy and matplotlib only once the scenario has loaded, so that
# --help, schema and bad input answer at once.

EXIT_NOT_CONSERVED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, CI cancellation): stops the run the way Ctrl-C does."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    previous = _on_sigterm()
    try:
        if argv and argv[0] in SUBCOMMANDS:
            return importlib.import_module(SUBCOMMANDS[argv[0]]).main(argv[1:])
        return run_command(argv)
    except KeyboardInterrupt as exc:  # before the run started: nothing to clean up
        print("interrupted: no results written", file=sys.stderr)
        return _interrupted_status(exc)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _on_sigterm() -> object:
    """Make SIGTERM raise :class:`Terminated` (main thread only); the previous handler."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def terminate(signum: int, frame: object) -> None:
        RECEIVED.append(signum)
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    return signal.SIG_DFL if previous is None else previous


def _interrupted_status(exc: BaseException) -> int:
    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def run_parser() -> argparse.ArgumentParser:
    """Arguments of a plain run."""
    parser = _Parser(
        prog="python -m sim",
        description="Run a lockdown drill scenario: every granularity variant × replication, "
                    "then write tables, figures and a report to a results folder. "
                    f"Subcommands: {', '.join(SUBCOMMANDS)} (python -m sim schema --help).",
    )
    parser.add_argument("scenario", type=Path, help="scenario file (YAML)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default: results/<scenario name>); only a new "
                             "or empty folder or an earlier results folder is replaced")
    parser.add_argument("--force", action="store_true",
                        help="replace --out even if it is a file, a link or a folder of "
                             "other files")
    parser.add_argument("--seed", type=_non_negative, default=None,
                        help="random seed (default: the scenario's)")
    parser.add_argument("--replications", type=_positive, default=None,
                        help="replications per variant (default: the scenario's)")
    parser.add_argument("--variant", action="append", default=None, metavar="NAME",
                        help="run only this variant (repeatable; default: all)")
    parser.add_argument("--jobs", type=_positive, default=None,
                        help="local worker processes (default and most: the available cores)")
    parser.add_argument("--dask", default=None, metavar="ADDRESS",
                        help=f"run on this Dask scheduler (or set {DASK_ENV}); "
                             "needs pip install -e '.[dask]'")
    parser.add_argument("--stages", choices=STAGES_KEPT, default="first",
                        help="keep the hop-by-hop stage log of the first replication of each "
                             "variant, of all runs, or none (default: first)")
    parser.add_argument("--no-requests", action="store_true",
                        help="do not gather request rows (no requests.csv, empty ECDFs): "
                             "memory stays flat for large sweeps; summaries are unchanged")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv",
                        help="table files: csv (default) or parquet (smaller, typed, fast to "
                             "read with pandas)")
    parser.add_argument("--no-figures", action="store_true",
                        help="skip figures and report (tables only)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar (the summary is still printed)")
    parser.add_argument("--silent", action="store_true",
                        help="no progress bar and no summary on stdout")
    parser.add_argument("--set", action="append", default=None, metavar="KEY=VALUE",
                        help="set a scenario key by dotted path for this run, e.g. "
                             "emergency.ambulances.count=4 (repeatable)")
    parser.add_argument("--sweep", action="append", default=None, metavar="KEY=V1,V2,...",
                        help="one variant per value on top of each selected variant, run "
                             "instead of them (repeatable; several sweeps cross)")
    parser.add_argument("--no-sensitivity", action="store_true",
                        help="skip the scenario's sensitivity analysis")
    parser.add_argument("--no-size-limit", action="store_true",
                        help="run even if the estimated work exceeds the bounds (memory per "
                             "run, events in all, households, staff)")
    return parser


def run_command(argv: Sequence[str]) -> int:
    """Run a scenario and write its results folder."""
    args = run_parser().parse_args(argv)
    try:
        scenario = load_scenario(args.scenario, seed=args.seed, replications=args.replications)
        if args.variant:
            unknown = [v for v in args.variant if v not in {x.name for x in scenario.variants}]
            if unknown:
                raise ScenarioError(
                    f"{args.scenario}: --variant {unknown[0]!r} is not in the scenario "
                    f"(variants: {', '.join(v.name for v in scenario.variants)})")
        scenario = apply_arguments(scenario, args)
        check_size(scenario, str(args.scenario), len(args.variant) if args.variant else None,
                   limit=not args.no_size_limit)
    except ScenarioError as exc:
        return _fail(str(exc))
    out = args.out or Path("results") / scenario.name
    with deferred_signals():  # pandas and pyarrow load here
        from sim.stage_store import Spool

    with Spool() as spool:  # the kept stage rows' files, gone however the command ends
        return _run_and_write(args, scenario, out, spool)


def _run_and_write(args: argparse.Namespace, scenario: Scenario, out: Path,
                   spool: Spool) -> int:
    """Run the experiment, write the results folder and print the summary."""
    from sim.destination import DestinationError, claim

    held = None
    try:
        with claim(out, force=args.force) as held:
            with deferred_signals():  # a Ctrl-C inside a compiled library's import is lost
                from sim.experiment import run_experiment
                from sim.output import write_results

                if not args.no_figures:
                    for module in ("sim.plots", "sim.report"):  # matplotlib's import too
                        importlib.import_module(module)

            results = run_experiment(scenario, jobs=args.jobs, dask_address=args.dask,
                                     progress=not (args.quiet or args.silent),
                                     stages=args.stages, spool=spool,
                                     variants=args.variant, keep_requests=not args.no_requests)
            # One decision for the report and the summary (a city's takes half a minute).
            found = None
            if not (args.no_figures and args.silent):
                from sim.decision import decide_results

                found = decide_results(results)
            write_results(results, out, figures=not args.no_figures, force=args.force,
                          format=args.format, scenario_file=args.scenario, decision=found)
    except KeyboardInterrupt as exc:
        if held is not None and held.swapped:
            print(f"interrupted after the results were complete in {out}", file=sys.stderr)
        else:
            print("interrupted: no results written", file=sys.stderr)
        return _interrupted_status(exc)
    except DestinationError as exc:
        return _fail(str(exc))
    except NoRequestsError as exc:
        return _fail(f"{args.scenario}: {exc}")
    except RuntimeError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{out}: cannot write results: {exc.strerror or exc}")
    if not args.silent:
        from sim.summary import summary_text

        print(summary_text(results, out, report=not args.no_figures, found=found))
    if not _balanced(results):
        print(f"error: conservation failed: some requests are not accounted for, see "
              f"{out / 'conservation.csv'}", file=sys.stderr)
        return EXIT_NOT_CONSERVED
    return 0


def _balanced(results: Results) -> bool:
    return bool(results.conservation["balanced"].all()) if len(results.conservation) else True


SUBCOMMANDS: dict[str, str] = {"check": "sim.check", "validate": "sim.validate",
                               "schema": "sim.schema"}
"""Subcommand name → its module, whose ``main(argv)`` returns the exit status."""


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _positive(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _non_negative(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def _integer(text: str) -> int:
    """A whole number, also written ``1e6``."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"expected a whole number, got {shown(text)}")
    return int(value)


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"error: {one_line(message)} (see {self.prog} --help)\n")
