"""Random durations by name: fixed, exponential, uniform, triangular, lognormal, empirical.

A scenario writes ``{dist: exponential, mean: 4min}``, or just ``4min`` for a fixed
time. Every distribution samples whole numpy arrays at once (``sample(rng, n)``) so
the model draws service times in bulk, outside the event loop.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from sim.units import parse_duration

Minutes = Annotated[float, BeforeValidator(parse_duration)]
MAX_LOGNORMAL_CV = 100.0
"""Largest sd / mean of a lognormal time: beyond it a few draws exceed any horizon."""


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` independent values, in minutes."""
        raise NotImplementedError

    @property
    def mean(self) -> float:
        """The distribution's mean, in minutes."""
        raise NotImplementedError


class Fixed(_Dist):
    """Always the same time."""

    dist: Literal["fixed"] = "fixed"
    value: Minutes

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.value)

    @property
    def mean(self) -> float:
        return self.value


class Exponential(_Dist):
    """Memoryless time with the given mean (the textbook M in M/M/c)."""

    dist: Literal["exponential"]
    mean_: Minutes = Field(alias="mean", gt=0)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean_, size)

    @property
    def mean(self) -> float:
        return self.mean_


class Uniform(_Dist):
    """Any time between ``low`` and ``high`` equally likely."""

    dist: Literal["uniform"]
    low: Minutes
    high: Minutes

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError("uniform needs low <= high")
        return self

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2


class Triangular(_Dist):
    """Three-point estimate: shortest, most likely, longest."""

    dist: Literal["triangular"]
    low: Minutes
    mode: Minutes
    high: Minutes

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not (self.low <= self.mode <= self.high) or self.low == self.high:
            raise ValueError("triangular needs low <= mode <= high and low < high")
        return self

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.triangular(self.low, self.mode, self.high, size)

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3


class Lognormal(_Dist):
    """Right-skewed time given by its own mean and standard deviation."""

    dist: Literal["lognormal"]
    mean_: Minutes = Field(alias="mean", gt=0)
    sd: Minutes = Field(gt=0)

    @model_validator(mode="after")
    def _spread(self) -> Lognormal:
        if self.sd > MAX_LOGNORMAL_CV * self.mean_:
            raise ValueError(f"lognormal needs sd at most {MAX_LOGNORMAL_CV:g} × mean")
        return self

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        sigma2 = math.log1p((self.sd / self.mean_) ** 2)
        return rng.lognormal(math.log(self.mean_) - sigma2 / 2, math.sqrt(sigma2), size)

    @property
    def mean(self) -> float:
        return self.mean_


class Empirical(_Dist):
    """A table of observed times, optionally weighted."""

    dist: Literal["empirical"]
    values: list[Minutes] = Field(min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _weights_match(self) -> Empirical:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError("empirical weights must have one entry per value")
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("empirical weights must be >= 0 and not all zero")
        return self

    def _probabilities(self) -> np.ndarray | None:
        if self.weights is None:
            return None
        w = np.asarray(self.weights, dtype=float)
        w = w / w.max()  # weights near the largest float would sum to infinity
        return w / w.sum()

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.choice(np.asarray(self.values, dtype=float), size, p=self._probabilities())

    @property
    def mean(self) -> float:
        p = self._probabilities()
        return float(np.average(self.values, weights=p))


def shorthand(value: Any) -> Any:
    """Read a bare duration (``"4min"``) as a fixed distribution."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return {"dist": "fixed", "value": value}
    return value


Distribution = Annotated[
    Fixed | Exponential | Uniform | Triangular | Lognormal | Empirical,
    BeforeValidator(shorthand),
    Field(discriminator="dist"),
]
"""Any named distribution; the field type scenario models use for random times."""
