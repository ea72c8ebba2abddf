"""Named distributions: sample means match ``.mean``; shorthand; bad parameters rejected."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import BaseModel, ValidationError
from scipy import stats

from sim.distributions import (
    Distribution,
    Empirical,
    Exponential,
    Fixed,
    Lognormal,
    Triangular,
    Uniform,
)


class Holder(BaseModel):
    """A field typed like the scenario's random times (the shorthand works inside models)."""

    d: Distribution

N = 200_000
Z = stats.norm.ppf(0.9995)  # two-sided 99.9% confidence interval


def dist(value: object):  # noqa: ANN201 - one of the distribution classes
    return Holder(d=value).d


CASES = {
    "fixed": ({"dist": "fixed", "value": "4min"}, Fixed, 4.0),
    "exponential": ({"dist": "exponential", "mean": "3min"}, Exponential, 3.0),
    "uniform": ({"dist": "uniform", "low": "10min", "high": "20min"}, Uniform, 15.0),
    "triangular": ({"dist": "triangular", "low": "20s", "mode": "30s", "high": "60s"},
                   Triangular, (20 + 30 + 60) / 3 / 60),
    "lognormal": ({"dist": "lognormal", "mean": "12min", "sd": "4min"}, Lognormal, 12.0),
    "empirical": ({"dist": "empirical", "values": ["1min", "2min", "10min"],
                   "weights": [5, 3, 2]}, Empirical, (5 * 1 + 3 * 2 + 2 * 10) / 10),
    "empirical_unweighted": ({"dist": "empirical", "values": [1, 2, 6]}, Empirical, 3.0),
}


@pytest.mark.parametrize("name", list(CASES))
def test_parsed_type_and_mean(name: str) -> None:
    spec, cls, mean = CASES[name]
    d = dist(spec)
    assert isinstance(d, cls)
    assert d.mean == pytest.approx(mean, rel=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_sample_mean_within_confidence_interval(name: str) -> None:
    spec, _, _ = CASES[name]
    d = dist(spec)
    draws = d.sample(np.random.default_rng(20240422), N)
    assert draws.shape == (N,)
    assert np.all(draws >= 0)
    sd = draws.std(ddof=1)
    if sd == 0:
        assert draws.mean() == d.mean
        return
    half_width = Z * sd / math.sqrt(N)
    assert abs(draws.mean() - d.mean) < half_width, (draws.mean(), d.mean, half_width)


def test_lognormal_shape_matches_mean_and_sd() -> None:
    """The median of a lognormal with mean m and sd s is m / sqrt(1 + (s/m)^2)."""
    d = dist({"dist": "lognormal", "mean": "12min", "sd": "4min"})
    draws = d.sample(np.random.default_rng(5), N)
    median = 12.0 / math.sqrt(1 + (4.0 / 12.0) ** 2)
    below = float(np.mean(draws < median))
    assert abs(below - 0.5) < Z * math.sqrt(0.25 / N)


def test_exponential_is_memoryless_in_scale() -> None:
    """An exponential's sd equals its mean: check the sample variance against mean^2."""
    d = dist({"dist": "exponential", "mean": "5min"})
    draws = d.sample(np.random.default_rng(11), N)
    # Var of the sample variance of Exp(mean m) is (m^4 (mu4/m^4 - 1))/N with mu4 = 9 m^4.
    half_width = Z * math.sqrt(8 * 5.0**4 / N)
    assert abs(draws.var(ddof=1) - 25.0) < half_width


def test_same_generator_state_same_draws() -> None:
    d = dist({"dist": "triangular", "low": 1, "mode": 2, "high": 4})
    a = d.sample(np.random.default_rng(3), 50)
    b = d.sample(np.random.default_rng(3), 50)
    assert np.array_equal(a, b)


@pytest.mark.parametrize(("value", "minutes"),
                         [("4min", 4.0), ("90s", 1.5), (4, 4.0), (2.5, 2.5), ("1h", 60.0)])
def test_shorthand_is_fixed(value: object, minutes: float) -> None:
    d = dist(value)
    assert isinstance(d, Fixed)
    assert d.value == minutes
    assert d.mean == minutes
    assert np.all(d.sample(np.random.default_rng(0), 5) == minutes)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"dist": "uniform", "low": "20min", "high": "10min"}, "low <= high"),
        ({"dist": "triangular", "low": 1, "mode": 5, "high": 4}, "low <= mode <= high"),
        ({"dist": "triangular", "low": 3, "mode": 2, "high": 4}, "low <= mode <= high"),
        ({"dist": "triangular", "low": 2, "mode": 2, "high": 2}, "low < high"),
        ({"dist": "empirical", "values": [1, 2, 3], "weights": [1, 2]}, "one entry per value"),
        ({"dist": "empirical", "values": [1, 2], "weights": [1, -1]}, "weights must be >= 0"),
        ({"dist": "empirical", "values": [1, 2], "weights": [0, 0]}, "not all zero"),
        ({"dist": "empirical", "values": []}, "at least 1"),
        ({"dist": "exponential", "mean": 0}, "greater than 0"),
        ({"dist": "exponential", "mean": "-2min"}, "duration"),
        ({"dist": "lognormal", "mean": "3min", "sd": 0}, "greater than 0"),
        ({"dist": "lognormal", "mean": "3min"}, "sd"),
        ({"dist": "exponential", "mean": "3min", "sd": 1}, "sd"),
        ({"dist": "gamma", "mean": "3min"}, "gamma"),
        ({"mean": "3min"}, "dist"),
        ("3 fortnights", "duration"),
        (-1, "not negative"),
        (True, "valid dictionary"),
    ],
)
def test_bad_parameters_rejected(spec: object, fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        dist(spec)
    assert fragment in str(info.value)
