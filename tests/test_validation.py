"""The model against queueing theory: M/M/1, M/M/3, a tandem Jackson line, priority queues.

Every case is an ordinary scenario file in scenarios/validation/ (exponential times,
homogeneous Poisson demand, no special code path in the model); sim.validation
derives the closed forms from the scenario's own numbers and runs it.

How the assertions are built (see sim/validation.py and docs/validation.md):

* Steady state. Each replication counts the requests created in
  ``[warmup, horizon - margin)``. The warm-up is the scenario's ``warmup`` key and
  covers at least five relaxation times 1/(cμ(1−√ρ)²) (checked below). The margin,
  40 × the theoretical W, lets every counted request finish before the horizon, so
  the finite horizon does not bias W low by leaving the longest responses out
  (requests still in flight are excluded from response statistics); the number of
  counted requests still in flight ("censored") is asserted to be zero.
* Verdict. Theory must lie within the Student-t 95% CI of the mean across
  replications widened by a stated bias allowance of 1% of theory (ratio-estimator
  and residual start-up bias, both O(relaxation time / horizon) < 1% here).
* Run lengths are set by the CI needed. The hardest case is M/M/1 at ρ = 0.9:
  relaxation time 1/(μ(1−√ρ)²) ≈ 380 min, so warm-up 4000 min (≈ 10.5 of them);
  the asymptotic variance of the time-average number in system, 2ρ(1+ρ)/(1−ρ)⁴
  (Whitt), makes its relative sd ≈ √(422 / T) for T window minutes (μ = 1/min).
  With 8 replications of a 35,600-min window (T ≈ 285,000 min) the sd is ≈ 3.8%
  and the half-width ≈ t₇ × 3.8% ≈ 9% of W. Lower utilisations reach 2-4% with
  shorter runs; the CI must be at most 15% of theory for every check (asserted), so
  a pass is never vacuous.
* Fixed seeds (each scenario's ``seed``): the outcome is deterministic. With 25
  checks at 95%, about one could fail by chance alone; a failure here was to be
  investigated (longer runs, other seeds), not tolerated away. None fails; for the
  cases furthest from theory (mm1_rho09, mm3_rho09, the two M/M/1 priority cases)
  32-40 replications with other seeds agree with theory within 2%.

The whole module takes about 20-30 s on 2 cores (≈ 1.8 million requests).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import simpy

from sim import metrics
from sim.chain import build_chain, chain_for_variant, households
from sim.experiment import run_one
from sim.heads import Station, serve
from sim.model import REQUEST_COLUMNS, STAGE_COLUMNS, Drill
from sim.queueing import (
    erlang_c,
    mmc_time,
    mmc_wait,
    priority_nonpreemptive_waits,
    priority_preemptive_times,
    relaxation_time,
    second_moment,
    tandem_time,
    tandem_wait,
)
from sim.scenario import load_scenario
from sim.validation import (
    BIAS_ALLOWANCE,
    WARMUP_RELAXATIONS,
    run_cases,
    textbook,
)

ROOT = Path(__file__).resolve().parents[1]
CASES_DIR = ROOT / "scenarios" / "validation"
CASES = sorted(p.stem for p in CASES_DIR.glob("*.yaml"))
MAX_RELATIVE_HALF_WIDTH = 0.15


def _load(name: str, **overrides: object):
    return load_scenario(CASES_DIR / f"{name}.yaml", **overrides)


@pytest.fixture(scope="module")
def results() -> dict:
    scenarios = [_load(name) for name in CASES]
    return {result.textbook.name: result for result in run_cases(scenarios, jobs=2)}


# ---- the cases against theory -------------------------------------------------------------------


def test_cases_present() -> None:
    assert {"mm1_rho05", "mm1_rho07", "mm1_rho09", "mm3_rho05", "mm3_rho07", "mm3_rho09",
            "tandem", "priority_nonpreemptive", "priority_nonpreemptive_mg1",
            "priority_preemptive", "priority_preemptive_mg1"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_case_matches_theory(results: dict, case: str) -> None:
    result = results[case]
    assert result.checks
    for check in result.checks:
        where = (f"{case} {check.quantity.label}: theory {check.theory:.4f}, simulated "
                 f"{check.mean:.4f} ± {check.half_width:.4f}")
        assert check.censored == 0, f"{where}: {check.censored} counted request(s) unfinished"
        assert check.replications >= 5
        assert check.half_width <= MAX_RELATIVE_HALF_WIDTH * check.theory, f"{where}: CI too wide"
        assert check.allowance == pytest.approx(BIAS_ALLOWANCE * check.theory)
        assert check.passed, where
        assert check.as_tuple() == (check.theory, check.mean, check.half_width, "pass")


@pytest.mark.parametrize("case", CASES)
def test_case_is_a_textbook_queue_with_enough_warmup(case: str) -> None:
    book = textbook(_load(case))
    assert book.warmup_min >= WARMUP_RELAXATIONS * book.relaxation_min
    start, end = book.window
    assert end - start >= 50 * book.relaxation_min
    assert 0.4 < book.utilisation < 1


def test_little_holds_on_validation_logs(results: dict) -> None:
    for case, result in results.items():
        little = result.little
        assert len(little) >= result.textbook.replications
        gap = (little["L"] - little["lambda_W"] - little["carry_in"]).abs()
        assert (gap <= 1e-9 * little["L"].clip(lower=1)).all(), case
        assert (little["relative_gap"].abs() < 0.01).all(), case


def test_textbook_refuses_a_scenario_that_is_no_textbook_queue() -> None:
    with pytest.raises(ValueError, match="not a textbook queue") as info:
        textbook(load_scenario(ROOT / "scenarios" / "small.yaml"))
    message = str(info.value)
    assert "one area" in message and "off_duty" in message and "collect_only" in message


def test_textbook_refuses_a_deterministic_relay() -> None:
    data = _load("mm1_rho05").model_dump(by_alias=True)
    data["heads"]["floor"]["relay"] = {"dist": "fixed", "value": 1.0}
    from sim.scenario import scenario_from_dict
    with pytest.raises(ValueError, match="heads.floor.relay must be exponential"):
        textbook(scenario_from_dict(data))


def test_textbook_takes_preemption_with_general_service() -> None:
    """Pre-emptive resume has a closed form for any service distribution (second moment)."""
    data = _load("priority_preemptive").model_dump(by_alias=True)
    data["heads"]["floor"]["relay"] = {"dist": "fixed", "value": 1.0}
    from sim.scenario import scenario_from_dict
    model = textbook(scenario_from_dict(data))
    assert "pre-emptive-resume" in model.model


def test_second_moments() -> None:
    from sim.distributions import Empirical, Exponential, Fixed, Lognormal, Triangular, Uniform
    assert second_moment(Exponential(dist="exponential", mean=2.0)) == pytest.approx(8.0)
    assert second_moment(Fixed(value=3.0)) == pytest.approx(9.0)
    assert second_moment(Uniform(dist="uniform", low=0.5, high=2.5)) == pytest.approx(31 / 12)
    assert second_moment(Lognormal(dist="lognormal", mean=2.0, sd=1.0)) == pytest.approx(5.0)
    assert second_moment(Empirical(dist="empirical", values=[1.0, 3.0],
                                   weights=[3, 1])) == pytest.approx(3.0)
    rng = np.random.default_rng(1)
    tri = Triangular(dist="triangular", low=1.0, mode=2.0, high=4.0)
    assert second_moment(tri) == pytest.approx(np.mean(tri.sample(rng, 400_000) ** 2), rel=0.01)


def test_theory_is_read_from_the_scenario() -> None:
    book = textbook(_load("mm3_rho09"))
    assert book.model == "M/M/3"
    wait, time = (q.theory for q in book.quantities)
    assert wait == pytest.approx(mmc_wait(2.7, 1.0, 3))
    assert time == pytest.approx(mmc_time(2.7, 1.0, 3))
    book = textbook(_load("tandem"))
    assert book.quantities[1].theory == pytest.approx(1 / 0.5 + 1 / (1 / 1.4 - 0.5)
                                                      + 1 / (1 / 1.6 - 0.5))
    book = textbook(_load("priority_preemptive"))
    assert [q.label for q in book.quantities] == ["Wq emergency/call", "W emergency/call",
                                                  "W supply/order"]


# ---- closed forms ----------------------------------------------------------------------------


def _erlang_c_direct(c: int, a: float) -> float:
    top = a ** c / math.factorial(c) * c / (c - a)
    return top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize(("c", "a"), [(1, 0.5), (2, 1.0), (3, 2.7), (5, 4.2), (10, 7.5)])
def test_erlang_c_matches_direct_formula(c: int, a: float) -> None:
    assert erlang_c(c, a) == pytest.approx(_erlang_c_direct(c, a), rel=1e-12)


def test_erlang_c_known_values() -> None:
    assert erlang_c(1, 0.7) == pytest.approx(0.7)  # M/M/1: P(wait) = ρ
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c(200, 150.0) < erlang_c(200, 190.0) < 1  # stable for many servers


def test_mm1_closed_forms() -> None:
    lam, mu = 0.9, 1.0
    assert mmc_wait(lam, mu, 1) == pytest.approx(lam / (mu * (mu - lam)))
    assert mmc_time(lam, mu, 1) == pytest.approx(1 / (mu - lam))
    assert relaxation_time(lam, mu) == pytest.approx(1 / (1 - math.sqrt(0.9)) ** 2)


def test_tandem_adds_stations() -> None:
    stations = [(1.0, 1), (1 / 1.4, 1), (1 / 1.6, 1)]
    assert tandem_time(0.5, stations) == pytest.approx(sum(1 / (mu - 0.5) for mu, _ in stations))
    assert tandem_wait(0.5, stations) == pytest.approx(
        tandem_time(0.5, stations) - sum(1 / mu for mu, _ in stations))


def test_priority_formulas_reduce_and_conserve() -> None:
    lam, mean = 0.7, 1.0
    # One class: Pollaczek-Khinchine M/M/1.
    assert priority_nonpreemptive_waits([lam], [mean], [2.0])[0] == pytest.approx(
        mmc_wait(lam, 1 / mean, 1))
    assert priority_preemptive_times([lam], [mean], [2.0])[0] == pytest.approx(
        mmc_time(lam, 1 / mean, 1))
    rates, means = [0.2, 0.5], [1.5, 1.0]
    second = [2 * m * m for m in means]
    waits = priority_nonpreemptive_waits(rates, means, second)
    rho = sum(r * m for r, m in zip(rates, means, strict=True))
    residual = sum(r * s / 2 for r, s in zip(rates, second, strict=True))
    # Kleinrock's conservation law: Σ ρ_k Wq_k = ρ W0 / (1 − ρ).
    assert sum(r * m * w for r, m, w in zip(rates, means, waits, strict=True)) == pytest.approx(
        rho * residual / (1 - rho))
    assert waits[0] < waits[1]
    # Pre-emptive, equal exponential service: the total in system is M/M/1's.
    times = priority_preemptive_times([0.3, 0.5], [1.0, 1.0], [2.0, 2.0])
    assert 0.3 * times[0] + 0.5 * times[1] == pytest.approx(0.8 * mmc_time(0.8, 1.0, 1))
    assert times[0] == pytest.approx(mmc_time(0.3, 1.0, 1))


def test_unstable_queues_raise() -> None:
    with pytest.raises(ValueError, match="unstable"):
        mmc_wait(3.0, 1.0, 3)
    with pytest.raises(ValueError, match="unstable"):
        priority_nonpreemptive_waits([0.5, 0.6], [1.0, 1.0], [2.0, 2.0])


# ---- the model's mechanics the theory relies on ----------------------------------------------


def _run(name: str, horizon: str = "3000min", warmup: str = "100min") -> tuple:
    scenario = _load(name, horizon=horizon, warmup=warmup, replications=1)
    records = run_one(scenario, scenario.variants[0].name, 0, keep_stages=True)
    requests = pd.DataFrame(records.requests, columns=list(REQUEST_COLUMNS))
    stages = pd.DataFrame(records.stages, columns=list(STAGE_COLUMNS))
    return scenario, records, requests, stages


def _grants(requests: pd.DataFrame, stages: pd.DataFrame, stage: str) -> pd.DataFrame:
    """Created and service-start times of completed requests, in creation order."""
    served = stages[stages["stage"] == stage].groupby("request_id")["start_min"].min()
    done = requests[requests["status"] == "completed"].set_index("request_id")
    done = done.assign(granted=served).sort_values("created_min")
    assert done["granted"].notna().all()
    return done


@pytest.mark.parametrize("case", ["mm1_rho09", "mm3_rho09"])
def test_fifo_at_one_head(case: str) -> None:
    """Same priority: staff are handed out in arrival order (for c servers too)."""
    _, _, requests, stages = _run(case)
    done = _grants(requests, stages, "relay")
    assert len(done) > 1000
    assert done["granted"].is_monotonic_increasing
    assert (done["granted"] >= done["created_min"]).all()


def test_tandem_has_no_overtaking() -> None:
    """Single-person FIFO heads in series: orders leave in the order they came."""
    _, _, requests, stages = _run("tandem")
    done = requests[requests["status"] == "completed"].sort_values("created_min")
    assert len(done) > 1000
    assert done["completed_min"].is_monotonic_increasing
    relays = stages[(stages["stage"] == "relay") & stages["request_id"].isin(done["request_id"])]
    relays = relays.groupby("request_id")["level"].apply(list)
    assert set(map(tuple, relays)) == {(5, 4, 3)}  # floor, building, grid, in that order


@pytest.mark.parametrize("case", ["priority_nonpreemptive", "priority_preemptive"])
def test_priority_order_at_the_head(case: str) -> None:
    """Emergencies before orders; FIFO within each class; pre-emption only when asked."""
    scenario, _, requests, stages = _run(case)
    calls = _grants(requests[requests["flow"] == "emergency"], stages, "attend")
    orders = _grants(requests[requests["flow"] == "supply"], stages, "relay")
    assert len(calls) > 300 and len(orders) > 1000
    assert calls["granted"].is_monotonic_increasing
    # No order is taken up while an emergency waits.
    created = np.sort(calls["created_min"].to_numpy())
    granted = np.sort(calls["granted"].to_numpy())
    at = orders["granted"].to_numpy()
    waiting = (np.searchsorted(created, at, side="left")
               - np.searchsorted(granted, at, side="right"))
    assert (waiting == 0).all()
    # An emergency that waits is taken up exactly when the emergency before it ends.
    ended = set(calls["completed_min"])
    waited = calls[calls["granted"] > calls["created_min"]]
    if next(iter(scenario.emergency.severities.values())).preempt:
        assert len(waited) > 0 and waited["granted"].isin(ended).all()
    else:
        assert not waited["granted"].isin(ended).all()  # some waited for an order to end
    # Orders are first taken up in arrival order (pre-empted ones resume later).
    assert orders["granted"].is_monotonic_increasing


def test_door_walk_is_zero_for_the_floor_head() -> None:
    scenario = _load("priority_preemptive")
    graph = chain_for_variant(build_chain(scenario), scenario, scenario.variants[0])
    drill = Drill(scenario, graph, 0)
    for household in drill.households:
        head = household.path[0]
        assert graph.nodes[head.name]["level_name"] == "floor"
        assert drill.walk_min(head.x_m, head.floor, household.x_m, household.floor) == 0
    assert len(households(graph)) == 50


def test_warmup_excludes_early_requests_from_statistics() -> None:
    scenario, records, _, _ = _run("mm1_rho07", horizon="2000min", warmup="500min")
    requests = metrics.requests_frame([records])
    per_replication = metrics.replication_metrics(requests, scenario)
    row = per_replication[per_replication["household_group"] == "all"].iloc[0]
    late = requests[requests["created_min"] >= 500]
    assert (requests["created_min"] < 500).sum() > 100
    assert row["created"] == len(late)
    assert row["mean"] == pytest.approx(late["response_min"].mean())


def test_preempted_task_resumes_before_later_arrivals_of_its_class() -> None:
    """A (10 min) is pre-empted at t=2 by an emergency (1 min); B (1 min) came at t=1.

    Pre-emptive resume serves A's remaining 8 min from t=3, then B: A ends at 11, B at 12.
    """
    env = simpy.Environment()
    head = Station(env, "head", 1)
    ended: dict[str, float] = {}

    def task(name: str, at: float, priority: int, preempt: bool, minutes: float):
        yield env.timeout(at)
        yield from serve(env, head, priority, preempt, ((minutes, None),))
        ended[name] = env.now

    env.process(task("A", 0, 2, False, 10))
    env.process(task("B", 1, 2, False, 1))
    env.process(task("E", 2, 0, True, 1))
    env.run()
    assert ended["E"] == 3
    assert ended == {"E": 3, "A": 11, "B": 12}
