"""``python -m sim``: see :mod:`sim.cli`."""

import os
import sys


def _leave(status: int) -> None:
    """Exit at once with ``status`` after an interruption.

    Python would turn a Ctrl-C that arrived inside an import into death by SIGINT, even
    after it was handled.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


try:
    from sim.cli import main
except KeyboardInterrupt:  # Ctrl-C while the libraries load
    print("interrupted: no results written", file=sys.stderr)
    _leave(130)

status = main()
if status in (130, 143):
    _leave(status)
sys.exit(status)
