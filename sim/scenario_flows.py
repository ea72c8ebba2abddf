"""Scenario sections of the flows beyond supply and emergencies, and losses of heads.

Every section here is optional and off by default, so a scenario without these keys
runs exactly as before: ``notice`` (notices passed down the chain, with feedback
climbing back), ``testing`` (rounds of testing at sampling points, make-up tests),
and a variant's ``lose_heads`` (heads taken away for a while, their work taken by a
backup). :mod:`sim.scenario` only imports these models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.distributions import Distribution, Fixed, Minutes

if TYPE_CHECKING:
    from sim.scenario import Scenario

Level = Literal["zone", "community", "grid", "building", "floor"]
NoTime = Fixed(value=0)
REQUIRED_SHARE = Field(
    0.9, ge=0, le=1,
    description="share of requests the planner requires within target (a planner's choice; "
                "default 0.9, the 90th-percentile convention of ambulance response standards)")
"""Beside every target, here and in :mod:`sim.scenario`."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              allow_inf_nan=False)


class Chat(_Strict):
    """Heads at ``levels`` post to a group chat instead of telling each member in turn."""

    levels: list[Level] = Field(min_length=1, description="levels whose heads post to a chat")
    post: Distribution = Field(NoTime, description="write and post the notice, once")
    read: Distribution = Field(description="from the post to a member reading it")


class Feedback(_Strict):
    """A share of the households reply; the reply climbs to the community head."""

    share: float = Field(ge=0, le=1, description="share of the households who reply")
    delay: Distribution = Field(NoTime, description="from knowing to sending the reply")
    target: Minutes = Field(240.0, gt=0, description="a reply should reach the community "
                                                    "head by then")
    required_share: float = REQUIRED_SHARE


class Notice(_Strict):
    """Notices issued at the top of the chain and passed down to every household."""

    at: list[Minutes] = Field(min_length=1, description="issue times (model time)")
    target: Minutes = Field(120.0, gt=0, description="every household should know by then")
    required_share: float = REQUIRED_SHARE
    tell: Distribution = Field(description="tell one child head or household (phone or word)")
    knock: Distribution = Field(NoTime, description="at the door of an offline household, "
                                                    "beside the walk there and back")
    chat: Chat | None = None
    feedback: Feedback | None = None


class Makeup(_Strict):
    """Households absent or uninformed at the call: phoned, then tested at the door."""

    back: Distribution = Field(NoTime, description="from the round's start to the household "
                                                   "being home and reachable again")
    phone: Distribution = Field(NoTime, description="the point's head phones one of them")
    visit: Distribution = Field(NoTime, description="at the door, beside the walk and samples")
    target: Minutes = Field(1440.0, gt=0, description="from the round's start to the "
                                                     "make-up test")
    required_share: float = REQUIRED_SHARE


class Testing(_Strict):
    """Rounds of all-resident testing at sampling points, and make-up tests."""

    at: list[Minutes] = Field(min_length=1, description="round start times (model time)")
    target: Minutes = Field(1440.0, gt=0, description="a household tested within the round")
    required_share: float = REQUIRED_SHARE
    point_level: Level = Field("grid", description="one sampling point per head of this level")
    tables: int = Field(ge=1, description="sampling tables per point")
    sample: Distribution = Field(description="one person at a table")
    batch: int = Field(ge=1, description="households called at once")
    call: Distribution = Field(NoTime, description="the point's head calls one batch")
    call_ahead: int = Field(0, ge=0, description="call the next batch when this many "
                                                 "households of the last still wait for a table")
    absent: float = Field(0.0, ge=0, le=1, description="share absent or uninformed at the call")
    makeup: Makeup | None = Field(None, description="none: the absent stay untested")


class Gate(_Strict):
    """Sealed compound gates that only a head can open, for the ambulance.

    The ``opener`` (the household's head at that level, or the nearest above) walks
    to the gate and unlocks it once told of the case: through the chain (``chain``,
    ``skip_level``), at once (``direct``), or, for a case called straight into the
    hotline with no head told, only when the crew at the gate reaches the head
    (``reach_head`` after the ambulance arrives).
    """

    opener: Level = Field("grid", description="level of the head who opens the gate (the "
                                              "nearest kept above if a variant drops it)")
    unlock: Distribution = Field(NoTime, description="open the lock and the barrier")
    reach_head: Distribution = Field(NoTime, description="crew at the gate until the head "
                                                         "answers (hotline cases only)")


Backup = Literal["deputy", "sibling", "parent", "helper"]


class HeadLoss(_Strict):
    """Heads of one level taken away for a while (isolated, ill, exhausted).

    Scheduled: a ``share`` of the level's heads is away from ``from`` to ``until``.
    Random: each head of the level is lost at ``rate_per_day`` (a Poisson rate per
    head-day) for ``duration`` each time. ``backup`` takes their new work meanwhile:
    a ``deputy`` (one person standing in), a ``sibling`` head under the same parent,
    the ``parent`` head, or the grid's ``helper`` pool (a deputy where there is none).
    """

    level: Level = Field(description="level whose heads are lost")
    share: float = Field(0.0, ge=0, le=1, description="share of the level's heads away at "
                                                      "once (scheduled)")
    start: Minutes = Field(0.0, ge=0, alias="from", description="scheduled loss begins")
    until: Minutes | None = Field(None, gt=0, description="none = to the horizon")
    rate_per_day: float = Field(0.0, ge=0, description="random losses per head-day")
    duration: Distribution = Field(NoTime, description="of each random loss")
    backup: Backup = Field("deputy", description="who takes the lost heads' new work")

    @model_validator(mode="after")
    def _consistent(self) -> HeadLoss:
        if self.until is not None and self.until <= self.start:
            raise ValueError("lose_heads: until must come after from")
        if self.share == 0 and self.rate_per_day == 0:
            raise ValueError("lose_heads: give a share, a rate_per_day, or both")
        if self.rate_per_day > 0 and isinstance(self.duration, Fixed) \
                and self.duration.value == 0:
            raise ValueError("lose_heads: random losses need a duration")
        return self


def _targeted(scenario: Scenario) -> dict[tuple[str, str], Notice | Feedback | Testing | Makeup]:
    """The section holding each (flow, kind)'s target, for the flows the scenario turns on."""
    found: dict[tuple[str, str], Notice | Feedback | Testing | Makeup] = {}
    notice = scenario.notice
    if notice is not None:
        found[("notice", "notice")] = notice
        if notice.feedback is not None:
            found[("feedback", "reply")] = notice.feedback
    testing = scenario.testing
    if testing is not None:
        found[("testing", "round")] = testing
        if testing.makeup is not None:
            found[("testing", "makeup")] = testing.makeup
    return found


def flow_targets(scenario: Scenario) -> dict[tuple[str, str], float]:
    """Target minutes per (flow, kind) of the flows defined here that the scenario turns on."""
    return {key: section.target for key, section in _targeted(scenario).items()}


def flow_required_shares(scenario: Scenario) -> dict[tuple[str, str], float]:
    """The share within target the planner requires, per (flow, kind), as ``flow_targets``."""
    return {key: section.required_share for key, section in _targeted(scenario).items()}


def flow_requests(scenario: Scenario, households: float) -> float:
    """Expected requests per run of the flows defined here (for the size estimate)."""
    requests = 0.0
    notice = scenario.notice
    if notice is not None:
        issues = sum(1 for at in notice.at if at < scenario.horizon)
        share = notice.feedback.share if notice.feedback is not None else 0.0
        requests += households * issues * (1 + share)
    testing = scenario.testing
    if testing is not None:
        rounds = sum(1 for at in testing.at if at < scenario.horizon)
        makeup = testing.absent if testing.makeup is not None else 0.0
        requests += households * rounds * (1 + makeup)
    return requests


def loss_pairs(scenario: Scenario) -> list[tuple[str, str]]:
    """(design, the same design with heads lost) pairs of the scenario's variants.

    A variant with ``lose_heads`` pairs with the first variant without losses whose other
    settings are exactly its own.
    """
    plain = {}
    for variant in scenario.variants:
        if not variant.lose_heads:
            plain.setdefault(repr(variant.model_dump(exclude={"name", "lose_heads"})),
                             variant.name)
    return [(plain[key], variant.name) for variant in scenario.variants
            if variant.lose_heads
            and (key := repr(variant.model_dump(exclude={"name", "lose_heads"}))) in plain]
