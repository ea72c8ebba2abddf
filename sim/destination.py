"""Where a results folder may go, and the right to write it (no heavy imports).

A results folder carries a small manifest (``.sim-results.json``); only such a
folder, an empty one or a path that does not exist yet is ever replaced, unless
``force`` says so. Files, symbolic links, the current folder and its parents are
refused. One run at a time holds a destination: a lock file beside it
(``.NAME.lock``, ``fcntl.flock``); whoever holds it also removes the staging
folders (``.NAME.XXXXXXXX``) that a killed run of ours left behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sim.interrupts import deferred_signals

MANIFEST = ".sim-results.json"
"""The file that marks a folder as a results folder of this simulator."""

_HELD: dict[Path, Claim] = {}


class DestinationError(Exception):
    """A results path that must not or cannot be written; ``str()`` is one line."""


@dataclass
class Claim:
    """The right to replace ``out``; ``swapped`` turns true once new results are in place."""

    out: Path
    force: bool = False
    swapped: bool = False
    created: list[Path] = field(default_factory=list)

    def staging(self, scenario: str) -> Path:
        """A fresh staging folder beside ``out``, marked with the manifest at once."""
        staging = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", dir=self.out.parent))
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; results are for everyone
        manifest = {"written_by": "sim", "format": 1, "scenario": scenario}
        (staging / MANIFEST).write_text(json.dumps(manifest) + "\n", encoding="utf-8")
        return staging


def is_results_folder(path: Path) -> bool:
    """True for a folder this simulator wrote (it holds the manifest)."""
    return path.is_dir() and not path.is_symlink() and (path / MANIFEST).is_file()


def check(out: str | Path, force: bool = False) -> Path:
    """The absolute destination for ``out``, or :class:`DestinationError` saying why not.

    Refused whatever ``force`` says: the current or home folder or one of their parents,
    a path below a file, a parent without write permission. Refused unless ``force``: a file,
    a symbolic link, a folder that is neither empty nor a results folder.
    """
    given = str(out)
    path = Path(os.path.abspath(out))
    if path.parent == path:
        raise DestinationError(f"{given}: will not replace the root folder")
    path = path.parent.resolve() / path.name
    for kept, what in ((Path.cwd(), "current"), (Path.home(), "home")):
        kept = kept.resolve()
        if path == kept or path in kept.parents:
            raise DestinationError(f"{given}: will not replace the {what} folder or one of its "
                                   "parents; give a new or results folder to --out")
    hint = "; choose another --out, or add --force to replace it"
    if path.is_symlink():
        if not force:
            raise DestinationError(f"{given}: is a symbolic link, not a results folder{hint}")
    elif path.exists() and not path.is_dir():
        if not force:
            raise DestinationError(f"{given}: is a file, not a results folder{hint}")
    elif path.is_dir() and not force and not is_results_folder(path):
        try:
            empty = next(path.iterdir(), None) is None
        except OSError as exc:
            raise DestinationError(f"{given}: cannot read: {exc.strerror or exc}") from None
        if not empty:
            raise DestinationError(f"{given}: is a folder with other files in it, not a results "
                                   f"folder of this simulator (no {MANIFEST}){hint}")
    _check_parent(path, given)
    return path


def _check_parent(path: Path, given: str) -> None:
    """The nearest existing ancestor must be a writable folder."""
    ancestor = path.parent
    while not ancestor.exists() and not ancestor.is_symlink():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise DestinationError(f"{given}: {ancestor} is a file, so the results folder cannot "
                               "be created below it")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise DestinationError(f"{given}: cannot write in {ancestor}: permission denied")


@contextmanager
def claim(out: str | Path, force: bool = False) -> Iterator[Claim]:
    """Check ``out``, create its parent, lock it and clean stale staging folders.

    Re-entrant within one process; a second process gets :class:`DestinationError`.
    Parents created here are removed again if nothing was written.
    """
    path = check(out, force)
    if path in _HELD:
        yield _HELD[path]
        return
    held = Claim(path, force)
    held.created = _make_parents(path.parent, str(out))
    lock = path.parent / f".{path.name}.lock"
    fd = None
    try:
        fd = _lock(lock, str(out))
        _remove_stale(path)
        _HELD[path] = held
        yield held
    finally:
        _HELD.pop(path, None)
        if fd is not None:
            _unlock(lock, fd)
        if not held.swapped:
            for folder in reversed(held.created):
                try:
                    folder.rmdir()
                except OSError:
                    break


def _make_parents(parent: Path, given: str) -> list[Path]:
    missing = []
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    created = []
    try:
        for folder in reversed(missing):
            folder.mkdir()
            created.append(folder)
    except OSError as exc:
        raise DestinationError(f"{given}: cannot create {folder}: {exc.strerror or exc}") from None
    return created


def _lock(lock: Path, given: str) -> int:
    """Hold ``lock`` exclusively (without waiting); the file may be removed by its holder."""
    import fcntl

    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DestinationError(f"{given}: cannot create the lock file {lock}: "
                                   f"{exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise DestinationError(f"{given}: another run is writing these results right now "
                                   f"(lock {lock.name}); wait for it or choose another --out"
                                   ) from None
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the previous holder removed the file meanwhile: lock the new one


def _unlock(lock: Path, fd: int) -> None:
    try:
        lock.unlink()
    except OSError:
        pass
    os.close(fd)


def _remove_stale(path: Path) -> None:
    """Remove staging folders of ours for ``path`` left by a run that was killed."""
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.[a-z0-9_]{{8}}(\.old)?$")
    for entry in path.parent.iterdir():
        if not pattern.match(entry.name) or entry.is_symlink() or not entry.is_dir():
            continue
        if entry.name.endswith(".old") or (entry / MANIFEST).is_file() or not any(
                entry.iterdir()):
            shutil.rmtree(entry, ignore_errors=True)


def replace(staging: Path, held: Claim) -> None:
    """Move ``staging`` into place of ``held.out``; the old content goes only once it has."""
    out = held.out
    if not os.path.lexists(out):
        staging.rename(out)
        held.swapped = True
        return
    old = staging.with_name(staging.name + ".old")
    with deferred_signals():
        os.rename(out, old)
        try:
            staging.rename(out)
        except BaseException:
            os.rename(old, out)
            raise
        held.swapped = True
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink()
