"""Any scenario key by its dotted path: ``set:`` in variants, ``--set`` and ``--sweep``.

A path names a key of the resolved scenario (every default filled in):
``emergency.ambulances.count``, ``layout.areas.0.units`` (a list item by index),
``emergency.severities.critical.target`` (a mapping entry by key). Values use the
file's syntax (``15min``, distributions as mappings); the changed document is
validated again like a file. A path that does not exist is an error naming the
nearest valid path.

``variant_scenario(scenario, name)`` is the scenario one variant runs with: the
variant's ``set:`` applied, the variant alone in ``variants`` (without its ``set:``)
and no sensitivity block.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import yaml

from sim.errors import ScenarioError, one_line

if TYPE_CHECKING:
    from sim.scenario import Scenario, Variant

PER_VARIANT_FORBIDDEN = ("name", "description", "seed", "replications", "variants",
                         "sensitivity")
"""Keys a variant may not set: they are the experiment's, shared by every variant."""
_CACHE: dict[tuple[str, str], Scenario] = {}
_CACHE_SIZE = 64


def dump(scenario: Scenario) -> dict:
    """The scenario as a plain document (aliases, JSON types): it validates back equal."""
    return scenario.model_dump(mode="json", by_alias=True)


def valid_paths(document: object, prefix: str = "") -> list[str]:
    """Every dotted path into ``document``: mapping keys, list indices, nested."""
    paths = []
    items: Any = (document.items() if isinstance(document, dict)
                  else enumerate(document) if isinstance(document, list) else ())
    for key, value in items:
        path = f"{prefix}{key}"
        paths.append(path)
        paths.extend(valid_paths(value, f"{path}."))
    return paths


def assign(document: dict, assignments: Mapping[str, object],
           forbidden: Sequence[str] = ("variants",)) -> dict:
    """A deep copy of ``document`` with each dotted path set to its value.

    Raises ``ValueError`` (one line) for a path that does not exist, naming the
    nearest valid one, or that starts with a ``forbidden`` key.
    """
    result = copy.deepcopy(document)
    for path, value in assignments.items():
        parts = str(path).split(".")
        if parts[0] in forbidden:
            raise ValueError(f"'{path}' belongs to the whole experiment: it cannot be set here")
        node: Any = result
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                key: Any = int(part)
            elif isinstance(node, dict) and part in node:
                key = part
            else:
                raise ValueError(_unknown(document, path, parts[:depth]))
            if last:
                node[key] = copy.deepcopy(value)
            elif node[key] is None:
                above = ".".join(parts[:depth + 1])
                raise ValueError(f"'{above}' is not set in the scenario: set '{above}' as a "
                                 f"whole instead of '{path}'")
            else:
                node = node[key]
    return result


def _unknown(document: dict, path: str, found: list[str]) -> str:
    candidates = [p for p in valid_paths(document) if not p.startswith("variants")]
    near = difflib.get_close_matches(path, candidates, n=1, cutoff=0.6)
    if not near and found:  # the nearest key below the part of the path that exists
        below = [p for p in candidates if p.startswith(".".join(found) + ".")]
        near = difflib.get_close_matches(path, below, n=1, cutoff=0.0)
    hint = f"; did you mean '{near[0]}'?" if near else " (python -m sim schema lists the keys)"
    return f"unknown key '{path}'{hint}"


def override(scenario: Scenario, assignments: Mapping[str, object] | None = None, *,
             variants: Sequence[Variant] | None = None, source: str = "<scenario>",
             label: str = "set") -> Scenario:
    """``scenario`` with keys set by dotted path and, if given, its variants replaced.

    Errors are :class:`ScenarioError` with one line naming ``source`` and the key.
    """
    from sim.scenario import scenario_from_dict

    try:
        data = assign(dump(scenario), dict(assignments or {}))
    except ValueError as exc:
        raise ScenarioError(one_line(f"{source}: {label}: {exc}")) from None
    if variants is not None:
        data["variants"] = [v.model_dump(mode="json", by_alias=True) for v in variants]
    return scenario_from_dict(data, source=f"{source}: {label}")


def variant_scenario(scenario: Scenario, name: str) -> Scenario:
    """The scenario variant ``name`` runs with (kept per process; scenarios are frozen)."""
    key = (scenario.model_dump_json(), name)
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = _build_variant_scenario(scenario, scenario.variant(name))
    return _CACHE[key]


def _build_variant_scenario(scenario: Scenario, variant: Variant) -> Scenario:
    from sim.scenario import Scenario

    data = assign(dump(scenario), variant.overrides, forbidden=PER_VARIANT_FORBIDDEN)
    data["variants"] = [variant.model_dump(mode="json", by_alias=True, exclude={"overrides"})]
    data["sensitivity"] = None
    return Scenario.model_validate(data)


def check(scenario: Scenario) -> None:
    """Raise ``ValueError`` (one line) unless every variant's scenario and sensitivity end is valid.

    Called while a scenario validates, so a bad ``set:`` fails like a bad key in the file.
    """
    from pydantic import ValidationError

    from sim.errors import describe
    from sim.scenario import Scenario

    def attempt(what: str, variant: Variant) -> None:
        try:
            _build_variant_scenario(scenario, variant)
        except ValidationError as exc:
            raise ValueError(f"{what}: {describe(exc, Scenario)}") from None
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None

    for variant in scenario.variants:
        if variant.overrides:
            attempt(f"variant '{variant.name}' set", variant)
    block = scenario.sensitivity
    if block is None:
        return
    names = [v.name for v in scenario.variants]
    for name in block.compare:
        if name not in names:
            raise ValueError(f"sensitivity.compare: no variant '{name}' "
                             f"(variants: {', '.join(names)})")
    labels = [item.label for item in block.assumptions]
    if len(set(labels)) != len(labels):
        raise ValueError("sensitivity.assumptions: each key (or list of keys) only once")
    for k, item in enumerate(block.assumptions):
        for end in ("low", "high"):
            for name in block.compare:
                variant = with_set(scenario.variant(name), item.at(end))
                attempt(f"sensitivity.assumptions.{k} {end} ({item.label}: "
                        f"{getattr(item, end)!r}) in variant '{name}'", variant)


def with_set(variant: Variant, assignments: Mapping[str, object],
             name: str | None = None) -> Variant:
    """A copy of ``variant`` that also sets ``assignments`` (they win over its own)."""
    return variant.model_copy(update={"overrides": {**variant.overrides, **assignments},
                                      "name": name or variant.name})


# ---- sweeps and the command line ---------------------------------------------------------------


def sweep(scenario: Scenario, axes: Mapping[str, Sequence[object]],
          variants: Sequence[str] | None = None) -> list[Variant]:
    """One variant per combination of the ``axes`` values, on top of each listed variant.

    ``variants`` defaults to every variant of the scenario. Several axes cross;
    names read ``five_levels+ambulances.count=4+floor.staff=2``.
    """
    from sim.scenario import Variant

    bases = [scenario.variant(name) for name in variants] if variants else scenario.variants
    keys = list(axes)
    made: list[Variant] = []
    for base in bases:
        for values in itertools.product(*(axes[k] for k in keys)):
            combo = dict(zip(keys, values, strict=True))
            label = "+".join(f"{_short(k)}={_text(v)}" for k, v in combo.items())
            name = re.sub(r"[^A-Za-z0-9_.=+-]", "_", f"{base.name}+{label}")
            made.append(Variant.model_validate(
                with_set(base, combo, name).model_dump(by_alias=True)))
    return made


def parse_assignment(text: str, option: str = "--set") -> tuple[str, object]:
    """``KEY=VALUE`` into the key and the value parsed as YAML (``4``, ``15min``, ``{...}``)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"{option} expects KEY=VALUE, got {text!r}")
    return key.strip(), _yaml_value(value, option)


def parse_sweep(text: str) -> tuple[str, list[object]]:
    """``KEY=V1,V2,...`` into the key and its values (commas inside ``{}`` or ``[]`` kept)."""
    key, sep, raw = text.partition("=")
    values = [_yaml_value(part, "--sweep") for part in _split(raw)]
    if not sep or not key.strip() or not values:
        raise ValueError(f"--sweep expects KEY=V1,V2,..., got {text!r}")
    return key.strip(), values


def apply_arguments(scenario: Scenario, args: Any) -> Scenario:
    """Apply ``--set``, ``--sweep`` and ``--no-sensitivity`` from parsed command-line ``args``.

    A sweep makes one variant per value combination on top of each selected variant
    (``--variant``, default all) and runs those instead: ``args.variant`` is cleared,
    and the sensitivity block, which names the file's variants, is dropped.
    """
    source = str(args.scenario)
    try:
        sets = dict(parse_assignment(text) for text in args.set or [])
        axes = dict(parse_sweep(text) for text in args.sweep or [])
    except ValueError as exc:
        raise ScenarioError(one_line(f"{source}: {exc}")) from None
    assignments: dict[str, object] = dict(sets)
    if args.no_sensitivity or axes:
        assignments["sensitivity"] = None
    if assignments:
        scenario = override(scenario, assignments, source=source, label="--set")
    if axes:
        for key, values in axes.items():  # a misspelt key fails before any variant is made
            for value in values:
                override(scenario, {key: value}, source=source, label="--sweep")
        swept = sweep(scenario, axes, args.variant)
        scenario = override(scenario, variants=swept, source=source, label="--sweep")
        args.variant = None
    return scenario


def _short(path: str) -> str:
    parts = path.split(".")
    return ".".join(parts[1:]) if len(parts) > 2 else path


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):  # a distribution: exponential_mean=3min
        return "_".join(str(v) if k == "dist" else f"{k}={_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "_".join(map(_text, value))
    return str(value)


def _yaml_value(text: str, option: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise ValueError(f"{option}: cannot read the value {text!r}") from None


def _split(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "[{"
        depth -= char in "]}"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in (part.strip() for part in parts) if p]
