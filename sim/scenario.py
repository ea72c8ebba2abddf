"""Scenario files: the validated, frozen description of one drill.

``load_scenario(path)`` reads YAML (safely, see :mod:`sim.yamlload`), validates it with
pydantic (unknown keys are errors that name the nearest valid key), and returns a
frozen :class:`Scenario`. Every problem becomes a :class:`ScenarioError` whose
message is one line: file, key, what was expected.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.distributions import Distribution, Fixed, Minutes, shorthand
from sim.errors import ScenarioError, describe, one_line
from sim.names import MAX_NAME, NAME_PATTERN, folder_name
from sim.overrides import check as check_overrides
from sim.scenario_flows import REQUIRED_SHARE, Gate, HeadLoss, Notice, Testing
from sim.units import parse_clock, parse_window
from sim.yamlload import load_yaml

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
"""Role title of each level's head per area type (the five heads; docs/sources.md)."""


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


class Lift(Strict):
    """Lifts in every building of a compound area, used instead of the stairs."""

    wait: Minutes = Field(ge=0, description="mean wait for a car, queueing included")
    per_floor: Minutes = Field(gt=0, description="ride time per floor")
    bags_per_ride: int = Field(
        1, ge=1, description="bags a carrier takes up in one ride (a trolley in the car); "
                             "1: as many as by hand")


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
    lift: Lift | None = Field(None, description="compound buildings only; none = stairs")

    @model_validator(mode="after")
    def _one_sub_unit_count(self) -> Area:
        if self.lift is not None and self.type != "compound":
            raise ValueError("only compound buildings have lifts (floors above the first)")
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
    face_to_face: bool = Field(
        False, description="always handed over in person, even where others get a drop")


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

    @cached_property
    def window(self) -> tuple[float, float]:
        """``hours`` as clock minutes (begin, end), parsed once."""
        return parse_window(self.hours)


class HeadLevel(Strict):
    """Staffing and times of the heads at one level."""

    staff: int = Field(1, ge=1, description="people sharing the head's work")
    relay: Distribution = Field(description="pass one order or report up one level")
    off_duty: list[Window] = []
    day_job: DayJob | None = None

    @cached_property
    def off_duty_windows(self) -> tuple[tuple[float, float], ...]:
        """``off_duty`` as clock minutes (begin, end), parsed once."""
        return tuple(parse_window(w) for w in self.off_duty)


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
    pack_per_order: Distribution = Field(description="pack one bag (an order is one bag)")
    pipeline: bool = Field(
        False, description="bags leave in vehicle loads as they are packed, not as whole batches")
    stock: int | None = Field(None, ge=0, description="orders in stock at start; none = no limit")
    restock_every: Minutes | None = Field(None, gt=0)
    restock_amount: int = Field(0, ge=0)


class MultiDrop(Strict):
    """Vehicle trips that serve several grid gates with one load."""

    stops: int = Field(ge=2, description="grid gates one load may serve")
    between: Distribution = Field(description="drive from one gate to the next")


class Vehicles(Strict):
    """Vehicles bringing goods from the depot to grid gates."""

    count: int = Field(ge=1)
    capacity_orders: int = Field(ge=1, description="bags per load (an order is one bag)")
    trip: Distribution = Field(description="depot to grid gate, one way")
    unload: Distribution = Field(NoTime, description="at each gate")
    multi_drop: MultiDrop | None = None


class Carry(Strict):
    """Heads carrying goods down the chain and handing them over at the door."""

    walk_m_per_min: float = Field(gt=0)
    stairs_min_per_floor: float = Field(ge=0)
    cart_capacity: int = Field(ge=1, description="bags per cart trip between heads")
    bags_per_trip: int = Field(ge=1, description="bags per trip to doors")
    load_per_trip: Distribution = NoTime
    handover: Distribution = Field(description="face-to-face handover at the door")
    drop: Distribution | None = Field(
        None, description="ring-and-leave drop at the door; none = every handover face to face")

    @field_validator("drop", mode="before")
    @classmethod
    def _bare_drop(cls, value: object) -> object:
        return shorthand(value) if value is not None else None


class Bulk(Strict):
    """A pushed consignment handled in bulk at the depot before it is packed into bags."""

    cases_per_household: float = Field(gt=0, description="cases delivered per household")
    loads: int = Field(1, ge=1, description="the consignment arrives in this many loads")
    load_every: Minutes = Field(0.0, ge=0, description="between the loads' arrivals")
    unload_per_case: Distribution = NoTime
    disinfect_per_case: Distribution = NoTime
    unpack_per_case: Distribution = NoTime


class Packages(Strict):
    """Pushed supplies: one package per household at each time."""

    at: list[Minutes] = []
    target: Minutes = Field(1440.0, gt=0)
    required_share: Share = REQUIRED_SHARE
    bags_per_household: int = Field(1, ge=1, description="bags one household's package fills")
    bulk: Bulk | None = None


class Supply(Strict):
    """Supply orders and pushed packages."""

    enabled: bool = True
    share_work: bool = Field(
        False, description="the staff of a head or of the depot split a round or a batch "
                           "between them (default: one person takes it whole)")
    orders_per_household_per_day: float = Field(ge=0)
    profile: list[float] | None = Field(None, description="24 hourly weights")
    collect_level: Level = "grid"
    collect_only: bool = False
    cutoffs: list[Clock] = []
    batch_per_order: Distribution = NoTime
    target: Minutes = Field(gt=0)
    required_share: Share = REQUIRED_SHARE
    depot: Depot
    vehicles: Vehicles
    carry: Carry
    packages: Packages = Packages()

    @cached_property
    def cutoff_minutes(self) -> tuple[float, ...]:
        """``cutoffs`` as clock minutes, parsed once."""
        return tuple(parse_clock(c) for c in self.cutoffs)


HelperStage = Literal["carry", "door", "pack", "bulk"]


class HelperPool(Strict):
    """Volunteers who are not heads, one pool per grid or community, or at the depot."""

    count: int = Field(ge=1, description="people in each pool")
    off_duty: list[Window] = []
    does: list[HelperStage] = Field(min_length=1, description="stages the helpers work on")
    heads_help: bool = Field(
        False, description="heads (or depot teams) work on these stages beside the helpers")


    @cached_property
    def off_duty_windows(self) -> tuple[tuple[float, float], ...]:
        """``off_duty`` as clock minutes (begin, end), parsed once."""
        return tuple(parse_window(w) for w in self.off_duty)

class Helpers(Strict):
    """Helper pools by where they work; none by default."""

    grid: HelperPool | None = None
    community: HelperPool | None = None
    depot: HelperPool | None = None

    @model_validator(mode="after")
    def _stages_fit(self) -> Helpers:
        for where, pool, allowed in (("grid", self.grid, {"carry", "door"}),
                                     ("community", self.community, {"carry", "door"}),
                                     ("depot", self.depot, {"pack", "bulk"})):
            wrong = sorted(set(pool.does) - allowed) if pool else []
            if wrong:
                raise ValueError(f"{where} helpers cannot do {wrong}: "
                                 f"they may do {sorted(allowed)}")
        return self


class Severity(Strict):
    """One severity class; the first listed has the highest priority."""

    share: Share
    target: Minutes = Field(gt=0)
    required_share: Share = REQUIRED_SHARE
    preempt: bool = False
    report: Literal["chain", "hotline", "skip_level", "direct"] = "chain"
    responder: Literal["ambulance", "head"] = "ambulance"
    attend: Distribution = NoTime
    patience: Minutes | None = Field(None, gt=0)


class Redial(Strict):
    """Callers who wait too long for a hotline seat hang up and call again."""

    patience: Minutes = Field(gt=0, description="wait for a seat before hanging up")
    delay: Distribution = Field(description="from hanging up to calling again")
    attempts: int | None = Field(None, ge=1, description="calls before giving up; none = no limit")


class Dispatch(Strict):
    """The command-and-dispatch centre taking calls: one seat per operator."""

    operators: int = Field(ge=1)
    handle: Distribution
    redial: Redial | None = None


class Background(Strict):
    """Calls from outside the community on the same fleet and hotline (a district pool)."""

    per_day: float = Field(ge=0, description="Poisson rate of outside calls")
    same_profile: bool = Field(False, description="follow the emergency hourly profile")
    travel: Distribution = Field(description="station to the outside scene")
    job: Distribution | None = Field(None, description="scene until free again; none = job")


class Ambulances(Strict):
    """The ambulance fleet: the community's own, or with ``background`` a district pool."""

    count: int = Field(ge=1)
    to_gate: Distribution
    job: Distribution = Field(description="from the door until free again")
    background: Background | None = None


class Emergency(Strict):
    """Incidents by severity, reported through the chain or a hotline."""

    enabled: bool = True
    per_1000_people_per_day: float = Field(ge=0)
    profile: list[float] | None = None
    report_level: Level = "grid"
    severities: dict[str, Severity] = Field(min_length=1)
    dispatch: Dispatch
    ambulances: Ambulances
    gate: Gate | None = Field(None, description="sealed gates opened by a head; none = "
                                                "the nearest head opens the way")

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
    lose_heads: list[HeadLoss] = Field([], description="heads taken away for a while")

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

    name: Annotated[str, AfterValidator(folder_name)] = Field(
        json_schema_extra={"pattern": NAME_PATTERN, "maxLength": MAX_NAME})
    description: str = ""
    seed: int = Field(0, ge=0)
    start: Clock = Field("00:00", description="clock time when lockdown starts (model time 0)")
    horizon: Minutes = Field(gt=0)
    warmup: Minutes = 0.0
    replications: int = Field(1, ge=1)
    layout: Layout
    households: Households = Households()
    heads: Heads
    helpers: Helpers = Helpers()
    supply: Supply
    emergency: Emergency
    notice: Notice | None = Field(None, description="notices down the chain; none = off")
    testing: Testing | None = Field(None, description="testing rounds; none = off")
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

    @cached_property
    def start_minutes(self) -> float:
        """``start`` as clock minutes, parsed once."""
        return parse_clock(self.start)

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
        data = load_yaml(text, str(path))
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
