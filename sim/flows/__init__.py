"""One module per flow through the heads: supply orders and packages, emergencies."""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence

import simpy


def feed(env: simpy.Environment, times: Sequence[float],
         arrive: Callable[[int], None]) -> Generator[simpy.Event, object, None]:
    """Call ``arrive(i)`` at each of the sorted arrival ``times``: one process per stream."""
    for i, time in enumerate(times):
        delay = time - env.now
        if delay > 0:
            yield env.timeout(delay)
        arrive(i)
