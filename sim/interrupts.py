"""Ctrl-C and SIGTERM held back while a step must not be cut in half."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

RECEIVED: list[int] = []
"""Interrupting signals received so far (a library may turn the exception into another)."""


def on_signal(signum: int, frame: object) -> None:
    """SIGINT or SIGTERM handler: remember it, then raise ``KeyboardInterrupt``."""
    RECEIVED.append(signum)
    raise KeyboardInterrupt


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block is done (main thread only), then deliver."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    wanted = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in wanted}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)
        if caught:
            signal.raise_signal(caught[0])
