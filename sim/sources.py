"""The inputs that decide a comparison, with the source tag each carries in the scenario file.

A shipped scenario tags every number in a comment beside it: ``sourced`` (a published
figure), ``derived`` (arithmetic on others) or ``assumption`` (a guess, with a range). The
comments stay the single record: :func:`notes` reads them from the file, key by key (the
YAML node of each key gives its line; a comment continues on the comment-only lines
below it that start ``#  ``), and :func:`inputs` lists the deciding keys with their
values as run and the tags their comments name. A key without a comment is ``untagged``;
a key whose value differs from the file's (``--set``) says so instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from sim.overrides import dump
from sim.scenario import Scenario

TAGS = ("sourced", "derived", "assumption")
DECIDING = (
    ("targets", ("supply.target", "supply.required_share", "supply.packages.target",
                 "supply.packages.required_share", "emergency.severities.*.target",
                 "emergency.severities.*.required_share", "notice.target",
                 "notice.required_share", "notice.feedback.target",
                 "notice.feedback.required_share", "testing.target", "testing.required_share",
                 "testing.makeup.target", "testing.makeup.required_share")),
    ("rates", ("supply.orders_per_household_per_day", "emergency.per_1000_people_per_day",
               "emergency.severities.*.share", "notice.feedback.share", "testing.absent")),
    ("fleet", ("emergency.ambulances.count", "emergency.ambulances.to_gate",
               "emergency.ambulances.job", "supply.vehicles.count", "supply.vehicles.trip")),
    ("staff", ("heads.*.staff", "emergency.dispatch.operators", "supply.depot.teams",
               "testing.tables")),
    ("helpers", ("helpers.grid.count", "helpers.community.count", "helpers.depot.count")),
    ("stock", ("supply.depot.stock", "supply.depot.restock_every",
               "supply.depot.restock_amount")),
    ("run", ("horizon", "replications")),
)
"""The keys that decide the answer, by what they are; ``*`` stands for every entry."""


@dataclass(frozen=True)
class Input:
    """One deciding key: its group, value as run, comment in the file and the tags it names."""

    group: str
    path: str
    value: object
    note: str
    tags: tuple[str, ...]


def notes(path: str | Path) -> dict[str, str]:
    """Dotted key path → the comment beside it in the scenario file at ``path``."""
    text = Path(path).read_text(encoding="utf-8")
    lines = text.splitlines()
    found: dict[str, str] = {}
    _walk(yaml.compose(text, Loader=yaml.SafeLoader), "", lines, found)
    return found


def _walk(node: yaml.Node, prefix: str, lines: list[str], found: dict[str, str]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = f"{prefix}{key.value}"
            note = _comment(lines, key.start_mark.line)
            if note:
                found[path] = note
            _walk(value, f"{path}.", lines, found)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, f"{prefix}{index}.", lines, found)


def _comment(lines: list[str], line: int) -> str:
    """The inline comment of ``line`` and its continuation lines, joined."""
    first = _inline(lines[line])
    if not first:
        return ""
    parts = [first]
    for following in lines[line + 1:]:
        stripped = following.strip()
        if not re.match(r"#\s{2,}\S", stripped):
            break
        parts.append(stripped[1:].strip())
    return " ".join(parts)


def _inline(line: str) -> str:
    """The text after the first ``#`` outside quotes that starts a comment, if any."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"" and (i == 0 or line[i - 1] in " \t:[{,"):
            quote = char  # a quoted scalar starts; an apostrophe inside a word does not
        elif char == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[i + 1:].strip()
    return ""


def tags(note: str) -> tuple[str, ...]:
    """The source tags a comment names, in the order of :data:`TAGS`."""
    words = note.lower()
    return tuple(tag for tag in TAGS if re.search(rf"\b{tag}", words))


def inputs(scenario: Scenario, scenario_file: str | Path | None = None) -> list[Input]:
    """The deciding keys present in ``scenario`` (values as run) with their comments' tags.

    Without ``scenario_file`` (a scenario built in Python) there are no comments to read.
    """
    document = dump(scenario)
    comments, original = _read(scenario_file)
    rows = []
    for group, patterns in DECIDING:
        for pattern in patterns:
            for path, value in _expand(document, pattern.split(".")):
                note = _nearest(comments, path)
                found = tags(note)
                if original is not None and dict(_expand(original, path.split("."))).get(
                        path, value) != value:
                    note, found = f"set for this run (the file says: {note or 'no note'})", (
                        "set for this run",)
                rows.append(Input(group, path, value, note, found))
    return rows


def _read(scenario_file: str | Path | None) -> tuple[dict[str, str], dict | None]:
    """The file's comments and its values (resolved), or nothing when it cannot be read."""
    if scenario_file is None:
        return {}, None
    from sim.scenario import ScenarioError, load_scenario

    try:
        return notes(scenario_file), dump(load_scenario(scenario_file))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ScenarioError):
        return {}, None


def _expand(document: object, parts: list[str], prefix: str = "") -> list[tuple[str, object]]:
    if not parts:
        return [(prefix[:-1], document)]
    if not isinstance(document, dict):
        return []
    head, rest = parts[0], parts[1:]
    keys = list(document) if head == "*" else [head] if head in document else []
    found = []
    for key in keys:
        if document[key] is not None:
            found.extend(_expand(document[key], rest, f"{prefix}{key}."))
    return found


def _nearest(comments: dict[str, str], path: str) -> str:
    """The comment of ``path``, else of the closest key above it on the same entry."""
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        note = comments.get(".".join(parts[:end]))
        if note:
            return note
        if end < len(parts) - 1:
            break
    return ""
