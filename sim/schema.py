"""The scenario file format, described: ``python -m sim schema``.

One source, the pydantic models of :mod:`sim.scenario`, gives both the JSON schema
that editors use to complete and check scenario files (``scenarios/scenario.schema.json``,
named by the ``yaml-language-server`` comment at the top of each scenario) and a
readable table of every key with its type, unit, default and meaning. The JSON schema
accepts what the loader accepts: durations as numbers (minutes) or text (``15min``),
a bare duration for a distribution, a number or ``[min, max]`` for a range.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from sim.distributions import shorthand
from sim.units import parse_clock, parse_duration, parse_window

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "scenarios" / "scenario.schema.json"
EDITOR_COMMENT = "# yaml-language-server: $schema="
"""The shipped JSON schema (``python -m sim schema --write``; a test keeps it current)."""
DURATION_TEXT = {"type": "string", "pattern": r"^\s*[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?\s*"
                                              r"(s|sec|min|m|h|hr|d|day|days)?\s*$"}
UNIT = "x-unit"
"""Extension keyword carrying a key's unit (editors ignore unknown keywords)."""

MEANINGS = {
    "Scenario.name": "names the results folder and the baseline",
    "Scenario.description": "free text",
    "Scenario.seed": "root of every random stream: same seed, same results",
    "Scenario.horizon": "length of the drill; requests unfinished then are in flight",
    "Scenario.warmup": "requests created before this are not counted",
    "Scenario.replications": "independent runs of each variant",
    "Layout.grids_per_community": "grids grouped under one community head",
    "Layout.communities_per_zone": "communities grouped under one zone head",
    "Area.name": "label of the area in the tables",
    "Area.type": "compound (buildings, floors), bungalow (lanes, courtyards) or commercial "
                 "(markets, shops)",
    "Area.households_per_sub_unit": "households per floor, courtyard or shop: a number or "
                                    "[min, max]",
    "Area.people_per_household": "mean people per household (emergencies are per person)",
    "HouseholdGroup.share": "share of all households in this group",
    "HouseholdGroup.order_rate_factor": "orders per day relative to the general households",
    "HouseholdGroup.emergency_rate_factor": "emergencies per person relative to the general",
    "HouseholdGroup.handover_factor": "longer (> 1) or shorter handover at the door",
    "HouseholdGroup.contact_delay": "time to reach the nearest head before a request starts",
    "HouseholdGroup.offline": "cannot call the hotline: reports go through the chain",
    "HeadLevel.off_duty": "daily windows when this level's heads are off duty",
    "DayJob.share": "share of this level's heads with a day job",
    "DayJob.hours": "their working hours, off duty for the drill",
    "HelperPool.off_duty": "daily windows when the helpers are off duty",
    "Supply.enabled": "false: no orders and no packages",
    "Supply.orders_per_household_per_day": "Poisson rate of supply orders",
    "Supply.collect_level": "level whose head collects orders and compiles batches",
    "Supply.collect_only": "orders end at the collecting head (queueing test cases)",
    "Supply.cutoffs": "clock times when collected orders are compiled into a batch",
    "Supply.batch_per_order": "compiling time per order in a batch",
    "Supply.target": "response target of an order (share within target)",
    "Depot.teams": "packing teams at the depot",
    "Depot.restock_every": "interval between restocking deliveries; none = never",
    "Depot.restock_amount": "orders added to the stock at each restocking",
    "Vehicles.count": "vehicles from the depot to the grid gates",
    "Carry.walk_m_per_min": "walking speed of carriers",
    "Carry.stairs_min_per_floor": "minutes to climb one floor by the stairs",
    "Carry.load_per_trip": "loading a cart before each cart trip",
    "Packages.at": "times after the start when every household gets a package",
    "Packages.target": "response target of a package",
    "Bulk.unload_per_case": "unloading one case at the depot",
    "Bulk.disinfect_per_case": "disinfecting one case",
    "Bulk.unpack_per_case": "unpacking one case into bags",
    "Emergency.enabled": "false: no emergencies",
    "Emergency.per_1000_people_per_day": "Poisson rate of incidents per 1,000 people",
    "Emergency.profile": "24 hourly weights",
    "Emergency.report_level": "level whose head receives reports relayed up the chain",
    "Severity.share": "share of incidents of this severity (shares add up to 1)",
    "Severity.target": "response target: incident to help at the door",
    "Severity.preempt": "interrupts lower-priority work and reaches off-duty heads",
    "Severity.report": "through the chain, straight to the hotline, or to the nearest head",
    "Severity.responder": "an ambulance from the fleet, or the nearest head",
    "Severity.attend": "time a head responder spends at the door",
    "Severity.patience": "waiting for an ambulance beyond this abandons the case; none = waits",
    "Dispatch.operators": "hotline seats at the dispatch desk",
    "Dispatch.handle": "seat time per call",
    "Ambulances.count": "ambulances (the community's own, or the district pool)",
    "Ambulances.to_gate": "drive from assignment to the grid gate",
    "Variant.name": "label of the variant in every table",
    "Variant.drop_levels": "levels removed: their parent serves their children directly",
    "Households.groups": "household groups by name",
    "Emergency.severities": "severity classes by name, highest priority first",
    "Sensitivity.metrics": "statistics compared at each end",
    "Assumption.low": "value at the low end of the range",
    "Assumption.high": "value at the high end of the range",
    "Assumption.note": "why the range, shown in the report",
}
"""Meanings of the keys whose model gives none (sections take their model's docstring)."""


class _EditorSchema(GenerateJsonSchema):
    """JSON schema of what the loader accepts before its validators convert it."""

    def function_before_schema(self, schema: Any) -> dict:
        inner = super().function_before_schema(schema)
        function = schema["function"]["function"]
        name = getattr(function, "__name__", "")
        if function is parse_duration:
            return {"anyOf": [inner, DURATION_TEXT], UNIT: "minutes"}
        if function is shorthand:
            return {"anyOf": [{"type": "number", "minimum": 0}, DURATION_TEXT, inner],
                    UNIT: "minutes", "x-random": True}
        if name == "_from_number":  # ranges: a number, [min, max] or {min, max}
            return {"anyOf": [{"type": "number"}, {"type": "array", "minItems": 2,
                                                   "maxItems": 2, "items": {"type": "number"}},
                              inner]}
        if name == "_clock" or function is parse_clock:
            return {**inner, UNIT: "HH:MM"}
        if name == "_window" or function is parse_window:
            return {**inner, UNIT: "HH:MM-HH:MM"}
        return inner


def json_schema() -> dict:
    """The JSON schema of scenario files (draft 2020-12), units in ``x-unit``."""
    from sim.scenario import Scenario

    document = Scenario.model_json_schema(by_alias=True, schema_generator=_EditorSchema)
    document = _without_discriminators(document)
    for model, node in [("Scenario", document), *document["$defs"].items()]:
        for name, prop in node.get("properties", {}).items():
            meaning = MEANINGS.get(f"{model}.{name}")
            if meaning and not prop.get("description"):
                prop["description"] = meaning
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Lockdown drill scenario", **document}


def _without_discriminators(node: Any) -> Any:
    """Drop OpenAPI ``discriminator`` hints: plain JSON schema validators go by ``oneOf``."""
    if isinstance(node, dict):
        return {k: _without_discriminators(v) for k, v in node.items() if k != "discriminator"}
    if isinstance(node, list):
        return [_without_discriminators(v) for v in node]
    return node


def schema_text() -> str:
    """The shipped file's text: the JSON schema, indented, sorted for stable diffs."""
    return json.dumps(json_schema(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def keys() -> list[dict[str, str]]:
    """Every key of a scenario file: path, type, unit, default, meaning."""
    document = json_schema()
    return list(_walk(document, document, ""))


def _walk(root: dict, node: dict, path: str) -> Iterator[dict[str, str]]:
    node = _resolve(root, node)
    for name, prop in node.get("properties", {}).items():
        here = f"{path}{name}"
        required = name in node.get("required", [])
        yield {"key": here, "type": _type(root, prop), "unit": _unit(root, prop, name),
               "default": "(required)" if required else _default(prop),
               "meaning": _meaning(root, prop)}
        yield from _below(root, prop, here)


def _below(root: dict, prop: dict, here: str) -> Iterator[dict[str, str]]:
    """Keys nested in a section, in a list item (``[]``) or in a named entry (``<name>``)."""
    for option in _options(root, prop):
        fields = set(option.get("properties", ()))
        if fields and "dist" not in fields and fields != {"min", "max"}:
            yield from _walk(root, option, f"{here}.")
        elif option.get("type") == "array" and isinstance(option.get("items"), dict):
            item = _resolve(root, option["items"])
            if "properties" in item:
                yield from _walk(root, item, f"{here}[].")
        elif isinstance(option.get("additionalProperties"), dict):
            entry = _resolve(root, option["additionalProperties"])
            if "properties" in entry:
                yield from _walk(root, entry, f"{here}.<name>.")


def _options(root: dict, prop: dict) -> list[dict]:
    """The alternatives a key accepts, nested ``anyOf`` flattened (units kept)."""
    prop = _resolve(root, prop)
    if "anyOf" not in prop or UNIT in prop:
        return [prop]
    found = []
    for option in prop["anyOf"]:
        option = _resolve(root, option)
        if UNIT not in option and len(option.get("oneOf", ())) == 1:
            option = _resolve(root, option["oneOf"][0])
        found.extend([option] if UNIT in option or "anyOf" not in option
                     else _options(root, option))
    return found


def _resolve(root: dict, node: dict) -> dict:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _type(root: dict, prop: dict) -> str:
    kinds = []
    for option in _options(root, prop):
        if option.get("x-random"):
            kinds.append("distribution")
        elif "minutes" in option.get(UNIT, ""):
            kinds.append("duration")
        elif "enum" in option:
            kinds.append(" | ".join(map(str, option["enum"])))
        elif "const" in option:
            kinds.append(str(option["const"]))
        elif "properties" in option:
            kinds.append("range" if {"min", "max"} <= set(option["properties"]) else "section")
        elif option.get("type") == "array":
            item = _resolve(root, option.get("items", {}))
            kinds.append(f"list of {_type(root, item) if item else 'values'}")
        elif option.get("type") == "object":
            kinds.append("mapping")
        elif "type" in option:
            kinds.append({"number": "number", "integer": "integer", "string": "text",
                          "boolean": "true/false", "null": "none"}.get(option["type"],
                                                                        option["type"]))
    kinds = [k for k in dict.fromkeys(kinds) if k != "none"]
    if "range" in kinds:
        return "range"
    return " or ".join(kinds) or "any"


def _unit(root: dict, prop: dict, name: str) -> str:
    for option in [prop, *_options(root, prop)]:
        if UNIT in option:
            return option[UNIT]
        if option.get("type") == "array" and UNIT in option.get("items", {}):
            return option["items"][UNIT]
    if name in ("share", "Share") or name.endswith("_factor"):
        return "share 0-1" if name == "share" else "ratio"
    if name.endswith("_m") or name.endswith("_m_per_min"):
        return "metres" if name.endswith("_m") else "metres per minute"
    if "per_day" in name:
        return "per day"
    if name == "share" or any(o.get("maximum") == 1 and o.get("minimum") == 0
                              for o in _options(root, prop)):
        return "share 0-1"
    return ""


def _default(prop: dict) -> str:
    if "default" not in prop:
        return ""
    value = prop["default"]
    return "none" if value is None else json.dumps(value, ensure_ascii=False)


def _meaning(root: dict, prop: dict) -> str:
    if prop.get("description"):
        return prop["description"]
    for option in _options(root, prop):
        if option.get("description") and "dist" not in option.get("properties", {}):
            return option["description"].splitlines()[0]
        item = option.get("items")
        if isinstance(item, dict) and _resolve(root, item).get("description"):
            return _resolve(root, item)["description"].splitlines()[0]
    return ""


def key_table() -> str:
    """The readable table printed by ``python -m sim schema``."""
    rows = keys()
    width = max(len(r["key"]) for r in rows) + 2
    kind = min(max(len(r["type"]) for r in rows), 32) + 2
    unit = max(len(r["unit"]) for r in rows) + 2
    lines = ["Every key of a scenario file (a.b: nested; []: each list item; <name>: each "
             "named entry). Durations read 90s, 15min, 2.5h, 3d, or a bare number of minutes; "
             "a distribution is {dist: NAME, ...} or a bare duration (fixed).", ""]
    lines.append(f"{'key':<{width}}{'type':<{kind}}{'unit':<{unit}}{'default':<14}meaning")
    for row in rows:
        default = row["default"] if len(row["default"]) <= 12 else row["default"][:11] + "…"
        shown = row["type"] if len(row["type"]) < kind else row["type"][:kind - 2] + "…"
        lines.append(f"{row['key']:<{width}}{shown:<{kind}}{row['unit']:<{unit}}"
                     f"{default:<14}{row['meaning']}")
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    """``python -m sim schema [--json | --write [FILE]]``."""
    from sim.cli import _Parser

    parser = _Parser(prog="python -m sim schema",
                     description="Describe every scenario key (type, unit, default, meaning), "
                                 "or print or write the JSON schema editors use.")
    parser.add_argument("--json", action="store_true", help="print the JSON schema instead")
    parser.add_argument("--write", nargs="?", const=SCHEMA_FILE, type=Path, default=None,
                        metavar="FILE",
                        help=f"write the JSON schema (default: {SCHEMA_FILE.name} in scenarios/)")
    args = parser.parse_args(argv)
    if args.write:
        args.write.write_text(schema_text(), encoding="utf-8")
        print(f"written: {args.write}")
    elif args.json:
        print(schema_text(), end="")
    else:
        print(key_table())
    return 0
