"""``python -m sim``: see :mod:`sim.cli`."""

import os
import signal
import sys

from sim.interrupts import RECEIVED, deferred_signals, on_signal


def _leave(status: int) -> None:
    """Exit at once with ``status`` after an interruption.

    Python would turn a Ctrl-C that arrived inside an import into death by SIGINT, even
    after it was handled.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, on_signal)
if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, on_signal)
try:
    with deferred_signals():  # no interrupt inside a compiled library's import
        from sim.cli import main
    status = main()
except SystemExit:
    raise
except BaseException as exc:
    # A Ctrl-C inside a compiled library's import can surface as another exception
    # (pydantic-core raises a PanicException, a BaseException): trust the signal.
    if not RECEIVED and not isinstance(exc, KeyboardInterrupt):
        raise
    print("interrupted: no results written", file=sys.stderr)
    _leave(143 if RECEIVED[-1:] == [signal.SIGTERM] else 130)
if status in (130, 143):
    _leave(status)
sys.exit(status)
