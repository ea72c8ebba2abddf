"""Closed forms of the textbook queues the model reduces to.

Erlang C and M/M/c waits, a tandem Jackson line, M/G/1 priority queues
(non-pre-emptive: Cobham; pre-emptive resume), relaxation times, and the second
moment of each named distribution. Times in minutes, rates per minute.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sim.distributions import (
    Distribution,
    Empirical,
    Exponential,
    Fixed,
    Lognormal,
    Triangular,
    Uniform,
)


def erlang_c(servers: int, offered: float) -> float:
    """Return the Erlang C probability that an arrival waits in an M/M/c queue.

    ``offered`` is the offered load a = λ/μ in erlangs; it must be below ``servers``.
    Computed through the Erlang B recursion, which is stable for any ``servers``.
    """
    if servers < 1 or offered < 0:
        raise ValueError("erlang_c needs servers >= 1 and offered load >= 0")
    if offered >= servers:
        raise ValueError(f"unstable queue: offered load {offered:g} >= {servers} servers")
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered * blocking / (k + offered * blocking)
    return servers * blocking / (servers - offered * (1 - blocking))


def mmc_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Return the mean wait in queue Wq of an M/M/c queue (FIFO)."""
    offered = arrival_rate / service_rate
    return erlang_c(servers, offered) / (servers * service_rate - arrival_rate)


def mmc_time(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Return the mean time in system W = Wq + 1/μ of an M/M/c queue."""
    return mmc_wait(arrival_rate, service_rate, servers) + 1 / service_rate


def tandem_wait(arrival_rate: float, stations: Sequence[tuple[float, int]]) -> float:
    """Return the mean total wait in queue along a tandem Jackson line.

    ``stations`` lists (service rate μᵢ, servers cᵢ); every station sees Poisson
    arrivals at ``arrival_rate`` (Burke), so the waits add up.
    """
    return sum(mmc_wait(arrival_rate, mu, c) for mu, c in stations)


def tandem_time(arrival_rate: float, stations: Sequence[tuple[float, int]]) -> float:
    """Return the mean end-to-end time of a tandem Jackson line: Σ Wᵢ (Σ 1/(μᵢ − λ) if cᵢ = 1)."""
    return sum(mmc_time(arrival_rate, mu, c) for mu, c in stations)


def relaxation_time(arrival_rate: float, service_rate: float, servers: int = 1) -> float:
    """Return the approximate relaxation time 1/(cμ(1 − √ρ)²) of an M/M/c queue, minutes."""
    rho = arrival_rate / (servers * service_rate)
    if rho >= 1:
        raise ValueError(f"unstable queue: utilisation {rho:g} >= 1")
    return 1 / (servers * service_rate * (1 - math.sqrt(rho)) ** 2)


def _priority_loads(rates: Sequence[float], means: Sequence[float]) -> list[float]:
    if len(rates) != len(means) or not rates:
        raise ValueError("give one arrival rate and one mean service time per class")
    cumulative = [float(x) for x in np.cumsum([lam * m for lam, m in
                                                zip(rates, means, strict=True)])]
    if cumulative[-1] >= 1:
        raise ValueError(f"unstable queue: utilisation {cumulative[-1]:g} >= 1")
    return [0.0, *cumulative]


def priority_nonpreemptive_waits(rates: Sequence[float], means: Sequence[float],
                                 second_moments: Sequence[float]) -> list[float]:
    """Return the mean wait in queue per class of an M/G/1 non-pre-emptive priority queue.

    Cobham's formula, classes in priority order (first = highest):
    Wq_k = W0 / ((1 − σ_{k−1})(1 − σ_k)), with W0 = Σ λᵢ E[Sᵢ²] / 2 over all classes
    and σ_k = Σ_{i≤k} λᵢ E[Sᵢ]. FIFO within a class.
    """
    sigma = _priority_loads(rates, means)
    residual = sum(lam * s2 / 2 for lam, s2 in zip(rates, second_moments, strict=True))
    return [residual / ((1 - sigma[k]) * (1 - sigma[k + 1])) for k in range(len(rates))]


def priority_preemptive_times(rates: Sequence[float], means: Sequence[float],
                              second_moments: Sequence[float]) -> list[float]:
    """Return the mean time in system per class of an M/G/1 pre-emptive-resume priority queue.

    Classes in priority order: T_k = E[S_k] / (1 − σ_{k−1})
    + R_k / ((1 − σ_{k−1})(1 − σ_k)), with R_k = Σ_{i≤k} λᵢ E[Sᵢ²] / 2 (lower classes
    are invisible to class k).
    """
    sigma = _priority_loads(rates, means)
    times = []
    for k in range(len(rates)):
        residual = sum(rates[i] * second_moments[i] / 2 for i in range(k + 1))
        times.append(means[k] / (1 - sigma[k])
                     + residual / ((1 - sigma[k]) * (1 - sigma[k + 1])))
    return times


def second_moment(dist: Distribution) -> float:
    """Return E[S²] of a scenario distribution, in minutes²."""
    if isinstance(dist, Exponential):
        return 2 * dist.mean ** 2
    if isinstance(dist, Fixed):
        return dist.value ** 2
    if isinstance(dist, Uniform):
        return (dist.low ** 2 + dist.low * dist.high + dist.high ** 2) / 3
    if isinstance(dist, Triangular):
        a, c, b = dist.low, dist.mode, dist.high
        return (a * a + b * b + c * c + a * b + a * c + b * c) / 6
    if isinstance(dist, Lognormal):
        return dist.mean ** 2 + dist.sd ** 2
    if isinstance(dist, Empirical):
        weights = np.ones(len(dist.values)) if dist.weights is None else np.array(dist.weights)
        return float(np.average(np.square(dist.values), weights=weights))
    raise TypeError(f"no second moment for {type(dist).__name__}")
