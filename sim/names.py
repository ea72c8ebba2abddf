"""Names that become file and folder names (a scenario's name is its results folder)."""

from __future__ import annotations

import re

MAX_NAME = 100
NAME_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$"
"""What :func:`folder_name` accepts, for the JSON schema (length aside)."""
_NAME = re.compile(NAME_PATTERN)


def folder_name(value: str) -> str:
    """Return ``value`` if it is a safe folder name, else raise ``ValueError`` saying why.

    Letters, digits, ``_``, ``-`` and ``.``; not starting with a dot (so never ``.``,
    ``..`` or a hidden folder); at most ``MAX_NAME`` characters.
    """
    if len(value) > MAX_NAME:
        raise ValueError(f"a name is at most {MAX_NAME} characters, got {len(value)}")
    if value.startswith("."):
        raise ValueError("a name must not start with a dot (it names the results folder)")
    if not _NAME.match(value):
        raise ValueError("a name may hold only letters, digits, '_', '-' and '.'")
    return value
