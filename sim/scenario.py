"""Scenario files: the validated, frozen description of one drill.

``load_scenario(path)`` reads YAML (``yaml.safe_load`` only), validates it with
pydantic (unknown keys are errors that name the nearest valid key), and returns a
frozen :class:`Scenario`. Every problem becomes a :class:`ScenarioError` whose
message is one line: file, key, what was expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.distributions import Distribution, Fixed, Minutes
from sim.errors import ScenarioError, describe, one_line
from sim.overrides import check as check_overrides
from sim.units import parse_clock, parse_window

LEVELS: tuple[str, ...] = ("zone", "community", "grid", "building", "floor")
"""The five levels, top (L1) to bottom (L5). ``building`` also stands for lane and
market, ``floor`` for courtyard and shop: the role names differ by area type."""

Level = Literal["zone", "community", "grid", "building", "floor"]
AreaType = Literal["compound", "bungalow", "commercial"]

ROLES: dict[str, tuple[str, ...]] = {
    "compound": ("zone_head", "community_head", "grid_head", "building_head", "floor_head"),
    "bungalow": ("zone_head", "community_head", "grid_head", "lane_head", "courtyard_head"),
    "commercial": ("zone_head", "community_head", "grid_head", "market_supervisor", "shop_head"),
}
"""Role title of each level's head per area type (DESIGN.md, the five heads)."""


def _window(value: object) -> str:
    parse_window(str(value))
    return str(value)


def _clock(value: object) -> str:
    parse_clock(str(value))
    return str(value)


Window = Annotated[str, BeforeValidator(_window)]
Clock = Annotated[str, BeforeValidator(_clock)]
Share = Annotated[float, Field(ge=0, le=1)]
NoTime = Fixed(value=0)


class Strict(BaseModel):
    """Base for every scenario section: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              allow_inf_nan=False)


class _Range(Strict):
    """A value drawn uniformly from ``min``..``max`` once per layout; a bare number fixes it."""

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, value: object) -> object:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return {"min": value, "max": value}
        if isinstance(value, list) and len(value) == 2:
            return {"min": value[0], "max": value[1]}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> _Range:
        if self.max < self.min:
            raise ValueError("needs min <= max")
        return self


class IntRange(_Range):
    """A whole number of households, drawn per sub-unit."""

    min: int = Field(ge=1)
    max: int = Field(ge=1)


class FloatRange(_Range):
    """A length in metres, drawn per unit."""

    min: float = Field(ge=0)
    max: float = Field(ge=0)


class Area(Strict):
    """A block of one area type: its L4 units, their L5 sub-units and households."""

    name: str
    type: AreaType
    units: int = Field(ge=1, description="buildings, lanes or markets (L4)")
    sub_units_per_unit: int | None = Field(None, ge=1, description="floors/courtyards/shops")
    sub_units_total: int | None = Field(None, ge=1, description="spread evenly over units")
    households_per_sub_unit: IntRange
    people_per_household: float = Field(gt=0)
    gate_walk_m: FloatRange = Field(description="grid gate to the unit's entrance")
    sub_unit_spacing_m: float = Field(0.0, ge=0, description="between courtyards or shops")
    door_walk_m: float = Field(10.0, ge=0, description="landing or courtyard gate to a door")

    @model_validator(mode="after")
    def _one_sub_unit_count(self) -> Area:
        if (self.sub_units_per_unit is None) == (self.sub_units_total is None):
            raise ValueError("give exactly one of sub_units_per_unit or sub_units_total")
        if self.sub_units_total is not None and self.sub_units_total < self.units:
            raise ValueError("sub_units_total must be at least units")
        return self


class Layout(Strict):
    """The physical community and how the grid groups it."""

    households_per_grid: int = Field(ge=1, description="target span of a grid head")
    grids_per_community: int = Field(ge=1)
    communities_per_zone: int = Field(ge=1)
    areas: list[Area] = Field(min_length=1)


class HouseholdGroup(Strict):
    """A kind of household reported on separately (elderly, offline, ...)."""

    share: Share
    order_rate_factor: float = Field(1.0, ge=0)
    emergency_rate_factor: float = Field(1.0, ge=0)
    handover_factor: float = Field(1.0, gt=0)
    contact_delay: Distribution = NoTime
    offline: bool = False


class Households(Strict):
    """Household groups; shares are exclusive and the rest is ``general``."""

    groups: dict[str, HouseholdGroup] = {}

    @field_validator("groups")
    @classmethod
    def _shares(cls, groups: dict[str, HouseholdGroup]) -> dict[str, HouseholdGroup]:
        if sum(g.share for g in groups.values()) > 1 + 1e-9:
            raise ValueError("group shares add up to more than 1")
        if "general" in groups:
            raise ValueError("'general' is the name of the households in no group")
        return groups


class DayJob(Strict):
    """Part of a level's heads work a day job and are off duty in those hours."""

    share: Share
    hours: Window


class HeadLevel(Strict):
    """Staffing and times of the heads at one level."""

    staff: int = Field(1, ge=1, description="people sharing the head's work")
    relay: Distribution = Field(description="pass one order or report up one level")
    off_duty: list[Window] = []
    day_job: DayJob | None = None


class Heads(Strict):
    """One entry per level, L1 to L5."""

    zone: HeadLevel
    community: HeadLevel
    grid: HeadLevel
    building: HeadLevel
    floor: HeadLevel


class Depot(Strict):
    """The supply depot: packing teams and stock."""

    teams: int = Field(ge=1)
    pack_per_order: Distribution
    stock: int | None = Field(None, ge=0, description="orders in stock at start; none = no limit")
    restock_every: Minutes | None = Field(None, gt=0)
    restock_amount: int = Field(0, ge=0)


class Vehicles(Strict):
    """Vehicles bringing goods from the depot to grid gates."""

    count: int = Field(ge=1)
    capacity_orders: int = Field(ge=1)
    trip: Distribution = Field(description="depot to grid gate, one way")
    unload: Distribution = NoTime


class Carry(Strict):
    """Heads carrying goods down the chain and handing them over at the door."""

    walk_m_per_min: float = Field(gt=0)
    stairs_min_per_floor: float = Field(ge=0)
    cart_capacity: int = Field(ge=1, description="orders per trip between heads")
    bags_per_trip: int = Field(ge=1, description="orders per trip to doors")
    load_per_trip: Distribution = NoTime
    handover: Distribution


class Packages(Strict):
    """Pushed supplies: one package per household at each time."""

    at: list[Minutes] = []
    target: Minutes = Field(1440.0, gt=0)


class Supply(Strict):
    """Supply orders and pushed packages."""

    enabled: bool = True
    orders_per_household_per_day: float = Field(ge=0)
    profile: list[float] | None = Field(None, description="24 hourly weights")
    collect_level: Level = "grid"
    collect_only: bool = False
    cutoffs: list[Clock] = []
    batch_per_order: Distribution = NoTime
    target: Minutes = Field(gt=0)
    depot: Depot
    vehicles: Vehicles
    carry: Carry
    packages: Packages = Packages()


class Severity(Strict):
    """One severity class; the first listed has the highest priority."""

    share: Share
    target: Minutes = Field(gt=0)
    preempt: bool = False
    report: Literal["chain", "hotline", "direct"] = "chain"
    responder: Literal["ambulance", "head"] = "ambulance"
    attend: Distribution = NoTime
    patience: Minutes | None = Field(None, gt=0)


class Dispatch(Strict):
    """The command-and-dispatch centre taking calls."""

    operators: int = Field(ge=1)
    handle: Distribution


class Ambulances(Strict):
    """The ambulance fleet serving the community."""

    count: int = Field(ge=1)
    to_gate: Distribution
    job: Distribution = Field(description="from the door until free again")


class Emergency(Strict):
    """Incidents by severity, reported through the chain or a hotline."""

    enabled: bool = True
    per_1000_people_per_day: float = Field(ge=0)
    profile: list[float] | None = None
    report_level: Level = "grid"
    severities: dict[str, Severity] = Field(min_length=1)
    dispatch: Dispatch
    ambulances: Ambulances

    @field_validator("severities")
    @classmethod
    def _shares(cls, severities: dict[str, Severity]) -> dict[str, Severity]:
        if abs(sum(s.share for s in severities.values()) - 1) > 1e-6:
            raise ValueError("severity shares must add up to 1")
        return severities


class Variant(Strict):
    """A design to compare: a transform of the one chain, and keys set by dotted path."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.=+-]+$")
    drop_levels: list[Level] = []
    households_per_head: dict[Level, int] = Field(
        {}, description="re-split a level to this many households per head"
    )
    overrides: dict[str, Any] = Field(
        {}, alias="set",
        description="scenario keys by dotted path, e.g. emergency.ambulances.count: 4")

    @model_validator(mode="after")
    def _consistent(self) -> Variant:
        if len(set(self.drop_levels)) == len(LEVELS):
            raise ValueError("a variant must keep at least one level")
        clash = set(self.drop_levels) & set(self.households_per_head)
        if clash:
            raise ValueError(f"level(s) {sorted(clash)} both dropped and re-split")
        if any(v < 1 for v in self.households_per_head.values()):
            raise ValueError("households_per_head must be at least 1")
        return self


class Assumption(Strict):
    """A number the findings may hinge on, and the range a planner should try."""

    key: str | list[str] = Field(alias="set", min_length=1,
                                 description="dotted path; a list of paths move together")
    low: Any
    high: Any
    note: str = ""

    @property
    def label(self) -> str:
        """The path, or the paths joined by ' + '."""
        return self.key if isinstance(self.key, str) else " + ".join(self.key)

    def at(self, end: str) -> dict[str, object]:
        """The keys to set at ``end`` (``low`` or ``high``)."""
        keys = [self.key] if isinstance(self.key, str) else self.key
        return {key: getattr(self, end) for key in keys}


class Sensitivity(Strict):
    """How the headline comparison moves when each assumption moves over its range."""

    compare: list[str] = Field(min_length=2, max_length=2,
                               description="two variants: the first minus the second")
    replications: int = Field(3, ge=1, description="per end of each range")
    metrics: list[Literal["mean", "p50", "p90", "p95", "p99", "max", "within_target"]] = \
        Field(["p95"], min_length=1)
    assumptions: list[Assumption] = Field(min_length=1)


def _profile_ok(profile: list[float] | None, where: str) -> None:
    if profile is not None and (
        len(profile) != 24 or min(profile) < 0 or sum(profile) <= 0
    ):
        raise ValueError(f"{where}.profile needs 24 hourly weights >= 0, not all zero")


class Scenario(Strict):
    """One drill: layout, heads, flows, variants, and how long and how often to run."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    seed: int = Field(0, ge=0)
    start: Clock = Field("00:00", description="clock time when lockdown starts (model time 0)")
    horizon: Minutes = Field(gt=0)
    warmup: Minutes = 0.0
    replications: int = Field(1, ge=1)
    layout: Layout
    households: Households = Households()
    heads: Heads
    supply: Supply
    emergency: Emergency
    variants: list[Variant] = [Variant(name="as_built")]
    sensitivity: Sensitivity | None = None

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        if self.warmup >= self.horizon:
            raise ValueError("warmup must be shorter than horizon")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variant names must be unique")
        if not self.variants:
            raise ValueError("list at least one variant")
        _profile_ok(self.supply.profile, "supply")
        _profile_ok(self.emergency.profile, "emergency")
        check_overrides(self)
        return self

    def head_level(self, level: str) -> HeadLevel:
        """Parameters of the heads at ``level``."""
        return getattr(self.heads, level)

    def variant(self, name: str) -> Variant:
        """The variant called ``name``."""
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise KeyError(name)

    def to_yaml(self) -> str:
        """The scenario as run, every default filled in, times in minutes; loads back equal."""
        data = self.model_dump(mode="json", by_alias=True)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# ---- loading and one-line errors -------------------------------------------------------------


def load_scenario(path: str | Path, **overrides: object) -> Scenario:
    """Read and validate a scenario file; ``overrides`` replace top-level keys (e.g. seed)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"{path}: YAML syntax error at {where}: {problem}") from None
    return scenario_from_dict(data, source=str(path), **overrides)


def scenario_from_dict(data: object, source: str = "<scenario>", **overrides: object) -> Scenario:
    """Validate an already parsed document; errors name ``source``."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        raise ScenarioError(f"{source}: expected a mapping of scenario keys, got {kind}")
    data = {**data, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(one_line(f"{source}: {describe(exc, Scenario)}")) from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise ScenarioError(one_line(f"{source}: {exc}")) from None
