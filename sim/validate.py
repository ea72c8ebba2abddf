"""``python -m sim validate SCENARIO``: check a scenario file and say what it describes.

Every problem at once, each with its YAML line and its key path, list items named by
their ``name`` (``layout.areas[market].units``, not ``layout.areas.2.units``). A valid
file gets a description: households and people, heads and staff per level of each
variant, requests expected per flow, the estimated run time and memory; and warnings
for settings that are accepted but do nothing useful.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sim.errors import ScenarioError, _is_union_tag, _valid_keys, one_line
from sim.units import shown


@dataclass(frozen=True)
class Problem:
    """One problem (or warning) of a scenario file."""

    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        key = f"key '{self.key}': " if self.key else ""
        return one_line(f"{where}{key}{self.message}")


# ---- where things are in the file ------------------------------------------------------------


def line_map(text: str) -> dict[tuple, int]:
    """1-based line of every key and list item, by its path of keys and indices."""
    lines: dict[tuple, int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines

    def walk(node: yaml.Node, path: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    lines[(*path, key.value)] = key.start_mark.line + 1
                    walk(value, (*path, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for k, item in enumerate(node.value):
                lines[(*path, k)] = item.start_mark.line + 1
                walk(item, (*path, k))

    if root is not None:
        walk(root, ())
    return lines


def named_path(document: object, loc: Sequence[object]) -> str:
    """``loc`` as a dotted path, list items by their ``name`` (or value) instead of index."""
    text, node = "", document
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            item = node[part]
            label = (item.get("name") if isinstance(item, dict) else
                     item if isinstance(item, (str, int, float)) else None)
            text += f"[{label}]" if label is not None else f"[{part}]"
            node = item
        else:
            text += f".{part}" if text else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return text


def _line(lines: dict[tuple, int], loc: Sequence[object]) -> int | None:
    """The line of ``loc``, or of the deepest part of it that is in the file."""
    for end in range(len(loc), 0, -1):
        if tuple(loc[:end]) in lines:
            return lines[tuple(loc[:end])]
    return None


# ---- problems --------------------------------------------------------------------------------


def problems(text: str, source: str) -> tuple[list[Problem], Any]:
    """Every problem of a scenario's text, and the scenario if there is none."""
    from pydantic import ValidationError

    from sim.scenario import Scenario
    from sim.yamlload import load_yaml

    try:
        document = load_yaml(text, source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return [Problem(mark.line + 1 if mark else None, "", f"YAML syntax error: {problem}")], None
    except ScenarioError as exc:
        return [Problem(None, "", str(exc).removeprefix(f"{source}: "))], None
    if not isinstance(document, dict):
        return [Problem(None, "", "expected a mapping of scenario keys")], None
    lines = line_map(text)
    try:
        return [], Scenario.model_validate(document)
    except ValidationError as exc:
        found = [_problem(error, document, lines) for error in exc.errors(include_url=False)]
        return list(dict.fromkeys(found)), None
    except (ValueError, TypeError, OverflowError) as exc:
        return [_loose(str(exc), document, lines)], None


def _problem(error: dict, document: dict, lines: dict[tuple, int]) -> Problem:
    from sim.scenario import Scenario

    loc = [part for part in error["loc"] if not _is_union_tag(part)]
    key = named_path(document, loc)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        valid = _valid_keys(Scenario, tuple(loc[:-1]))
        near = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        hint = f"; did you mean '{near[0]}'?" if near else ""
        return Problem(_line(lines, loc), key, f"unknown key{hint}")
    if error["type"] == "missing":
        return Problem(_line(lines, loc[:-1]), key, "missing")
    if not loc:
        return _loose(message, document, lines)
    value = error.get("input")
    got = "" if isinstance(value, (dict, list)) or "got " in message else f", got {shown(value)}"
    return Problem(_line(lines, loc), key, f"{message}{got}")


def _loose(message: str, document: dict, lines: dict[tuple, int]) -> Problem:
    """A whole-scenario check; a variant's ``set:`` or the sensitivity block located if named."""
    variants = document.get("variants") or []
    for k, variant in enumerate(variants if isinstance(variants, list) else []):
        name = variant.get("name") if isinstance(variant, dict) else None
        if name is not None and message.startswith(f"variant '{name}' set: "):
            return Problem(_line(lines, ["variants", k, "set"]), f"variants[{name}].set",
                           message.removeprefix(f"variant '{name}' set: "))
    if message.startswith("sensitivity"):
        return Problem(_line(lines, ["sensitivity"]), "sensitivity",
                       message.split(": ", 1)[-1])
    return Problem(None, "", message)


# ---- warnings --------------------------------------------------------------------------------


def warnings(scenario: Any, text: str, households: int) -> list[Problem]:
    """Settings that are accepted but do nothing useful."""
    from sim.overrides import variant_scenario

    document = yaml.safe_load(text)
    lines = line_map(text)
    found = []
    for k, variant in enumerate(scenario.variants):
        own = variant_scenario(scenario, variant.name)
        at = ["variants", k]
        if own.supply.enabled and own.supply.collect_level in variant.drop_levels:
            found.append(Problem(
                _line(lines, [*at, "drop_levels"]), f"variants[{variant.name}].drop_levels",
                f"drops '{own.supply.collect_level}', the supply collect_level: orders are "
                "collected by the nearest level kept above it instead; say which with set: "
                "{supply.collect_level: LEVEL}"))
        chain_reports = [n for n, s in own.emergency.severities.items() if s.report == "chain"]
        if (own.emergency.enabled and chain_reports
                and own.emergency.report_level in variant.drop_levels):
            found.append(Problem(
                _line(lines, [*at, "drop_levels"]), f"variants[{variant.name}].drop_levels",
                f"drops '{own.emergency.report_level}', the emergency report_level of "
                f"{', '.join(chain_reports)}: reports stop at the nearest level kept above it"))
        for level, span in variant.households_per_head.items():
            if span > households:
                found.append(Problem(
                    _line(lines, [*at, "households_per_head", level]),
                    f"variants[{variant.name}].households_per_head.{level}",
                    f"{span} households per head, more than the {households} of the whole "
                    "community: one head per parent, as if not re-split"))
    if scenario.supply.enabled:
        for k, at in enumerate(scenario.supply.packages.at):
            if at >= scenario.horizon:
                value = document["supply"]["packages"]["at"][k]
                found.append(Problem(
                    _line(lines, ["supply", "packages", "at", k]),
                    f"supply.packages.at[{value}]",
                    f"pushed at {at:g} min, at or after the horizon ({scenario.horizon:g} min): "
                    "never delivered within the drill"))
    return found


# ---- what the scenario describes -------------------------------------------------------------


def description(scenario: Any) -> tuple[str, int]:
    """What the scenario describes, as text; and its number of households."""
    from sim.chain import build_chain, chain_for_variant, cost_table, households
    from sim.estimate import estimate
    from sim.overrides import variant_scenario

    base = build_chain(scenario)
    homes = [base.nodes[h] for h in households(base)]
    people = sum(h["people"] for h in homes)
    lines = [f"{scenario.name}: {scenario.horizon / 60:g} h from {scenario.start}, "
             f"{len(scenario.variants)} variant(s) × {scenario.replications} replication(s), "
             f"seed {scenario.seed}",
             f"community: {len(homes)} households, {people:,.0f} people in "
             f"{len(scenario.layout.areas)} area(s) "
             f"({', '.join(f'{a.name}: {a.type}' for a in scenario.layout.areas)})"]
    lines.append("requests expected per replication: " + _expected(scenario, homes))
    lines.append("")
    lines.append(f"{'variant':<28}{'level':<11}{'heads':>7}{'staff':>7}{'households/head':>17}")
    for variant in scenario.variants:
        own = variant_scenario(scenario, variant.name)
        graph = chain_for_variant(base, own, own.variants[0])
        for row in cost_table(graph):
            if row["heads"]:
                lines.append(f"{variant.name:<28}{row['level']:<11}{row['heads']:>7}"
                             f"{row['people']:>7}{row['households_per_head']:>17.1f}")
    size = estimate(scenario)
    seconds = size.hours * 3600
    lines.append("")
    lines.append(f"estimated: {size.runs} run(s), about {size.events:,.0f} events, "
                 f"{_duration(seconds)} on one core; about "
                 f"{max(size.run_bytes, 1) / 2**20:,.1f} MiB of memory per run")
    return "\n".join(lines), len(homes)


def _expected(scenario: Any, homes: list[dict]) -> str:
    """Expected requests per flow and kind in one replication (demand of the file itself)."""
    groups = scenario.households.groups
    days = scenario.horizon / 1440
    parts = []
    supply, emergency = scenario.supply, scenario.emergency
    if supply.enabled:
        factor = sum(groups[h["group"]].order_rate_factor if h["group"] in groups else 1.0
                     for h in homes)
        parts.append(f"supply orders {factor * supply.orders_per_household_per_day * days:,.1f}")
        pushes = sum(1 for at in supply.packages.at if at < scenario.horizon)
        if pushes:
            parts.append(f"packages {pushes * len(homes):,}")
    if emergency.enabled:
        weight = sum(h["people"] * (groups[h["group"]].emergency_rate_factor
                                    if h["group"] in groups else 1.0) for h in homes)
        total = weight / 1000 * emergency.per_1000_people_per_day * days
        kinds = ", ".join(f"{name} {total * s.share:,.1f}"
                          for name, s in emergency.severities.items())
        parts.append(f"emergencies {total:,.1f} ({kinds})")
    return "; ".join(parts) or "none"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"about {max(seconds, 1):.0f} s"
    if seconds < 5400:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"


# ---- the command -----------------------------------------------------------------------------


def main(argv: Sequence[str]) -> int:
    """``python -m sim validate SCENARIO``: 0 valid, 2 problems (all listed)."""
    import sys

    from sim.cli import _Parser

    parser = _Parser(prog="python -m sim validate",
                     description="Check a scenario without running it: every problem with "
                                 "its line, then what the scenario describes and warnings.")
    parser.add_argument("scenario", type=Path, help="scenario file (YAML)")
    args = parser.parse_args(argv)
    source = str(args.scenario)
    try:
        text = args.scenario.read_text(encoding="utf-8")
    except FileNotFoundError:
        print(f"error: {source}: no such file", file=sys.stderr)
        return 2
    except (OSError, UnicodeDecodeError) as exc:
        print(one_line(f"error: {source}: cannot read: {exc}"), file=sys.stderr)
        return 2
    found, scenario = problems(text, source)
    if scenario is not None:
        from sim.estimate import check_size

        try:
            check_size(scenario, source)
        except ScenarioError as exc:
            found.append(Problem(None, "", str(exc).removeprefix(f"{source}: ")))
    if found:
        print(f"{source}: {len(found)} problem(s)", file=sys.stderr)
        for problem in found:
            print(f"  {problem}", file=sys.stderr)
        return 2
    text_out, homes = description(scenario)
    print(f"{source}: valid")
    print(text_out)
    cautions = warnings(scenario, text, homes)
    if cautions:
        print(f"\n{len(cautions)} warning(s):")
        for caution in cautions:
            print(f"  {caution}")
    return 0

