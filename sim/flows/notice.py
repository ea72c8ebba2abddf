"""Notices down the chain, and feedback back up.

A notice issued at a given time is known at once by the top heads, who pass it
down: each head tells its children in turn (child heads first, then its own
households: a drawn ``tell`` time each, one staff member holding the head for the
whole list), or, at the ``chat`` levels, posts it once to a group chat that each
member reads after a drawn delay. Offline households cannot read a chat or take a
call: their head walks to the door and knocks (walk there, ``knock``, walk back).
One request per household and notice (``flow: notice``): created at issue, completed
when the household knows. Its stages tile that time: ``relay`` per head above,
ending when the next head down knew, then ``tell``, ``chat`` or ``knock`` by the
nearest head.

With ``feedback``, a ``share`` of the households (drawn before the clock) reply a
drawn delay after they know; the reply (``flow: feedback``, kind ``reply``) is
relayed head by head up to the community head, each hop the level's ``relay`` time.

Notices and replies rank above supply work and below every emergency at the heads.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

import numpy as np
import simpy

from sim.demand import Draws, stream
from sim.heads import RecordOnly, Station, serve
from sim.scenario import LEVELS
from sim.site import links

if TYPE_CHECKING:
    from sim.site import Site

FLOW, KIND = "notice", "notice"
FEEDBACK, REPLY = "feedback", "reply"


class NoticeFlow:
    """Every notice of one replication, and the replies to them."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.env = site.env
        self.log = site.log
        scenario = site.scenario
        self.params = scenario.notice
        self.priority = site.supply_priority - 0.5
        households = site.households
        n = len(households)
        chain = links(households)
        self.children, self.members, self.tops = chain.children, chain.members, chain.tops
        self.offline = np.array(
            [g.offline for g in scenario.households.groups.values()] + [False])[
            [h.group for h in households]] if n else np.zeros(0, dtype=bool)
        self.up = site.paths_up_to("community")
        self.known: list[dict[Station, float]] = []
        params = self.params
        self.issues = [at for at in params.at if at < scenario.horizon]
        issues = len(self.issues)
        rng = stream(scenario.seed, site.replication, "notice")
        # Per issue and household, drawn before the clock (common random numbers).
        self.tell = params.tell.sample(rng, issues * n).reshape(issues, n)
        self.knock = params.knock.sample(rng, issues * n).reshape(issues, n)
        chat = params.chat
        self.read = (chat.read.sample(rng, issues * n).reshape(issues, n) if chat
                     else np.zeros((issues, n)))
        self.chat_levels = {LEVELS.index(lv) + 1 for lv in chat.levels} if chat else set()
        feedback = params.feedback
        if feedback is not None:
            self.replies = rng.random((issues, n)) < feedback.share
            self.reply_delay = feedback.delay.sample(rng, issues * n).reshape(issues, n)
            self.reply_relay = np.stack(
                [scenario.head_level(lv).relay.sample(rng, issues * n) for lv in LEVELS],
                axis=1).reshape(issues, n, len(LEVELS))
        # Head-to-head tells, chat posts and heads reading a chat: drawn in event order.
        self.head_tell = Draws(params.tell, rng)
        self.post = Draws(chat.post, rng) if chat else None
        self.head_read = Draws(chat.read, rng) if chat else None
        self.requests: list[np.ndarray] = []

    def start(self) -> None:
        """Schedule every issue."""
        for k, at in enumerate(self.issues):
            self.env.process(self._issue(k, at))

    def arrivals(self) -> dict[tuple[str, str], int]:
        """Requests the flow must account for: every household per issue, and replies.

        Replies are counted from the notice requests' completion times: households that
        knew early enough to reply before the horizon.
        """
        counts: dict[tuple[str, str], int] = {}
        if self.issues:
            counts[(FLOW, KIND)] = len(self.issues) * len(self.site.households)
        replies = self._replies_due()
        if replies:
            counts[(FEEDBACK, REPLY)] = replies
        return counts

    def resource_rows(self, horizon: float) -> list:
        """No resources of its own: notices use the heads."""
        return []

    def _replies_due(self) -> int:
        """Replies due before the horizon, read off the notice requests' completion times."""
        if self.params.feedback is None:
            return 0
        rows, horizon, due = self.log.requests, self.site.scenario.horizon, 0
        for k, rids in enumerate(self.requests):
            for hh, rid in enumerate(rids):
                known = rows[rid][4]
                if self.replies[k, hh] and known + self.reply_delay[k, hh] < horizon:
                    due += 1
        return due

    # ---- down ---------------------------------------------------------------------------------

    def _issue(self, k: int, at: float) -> Generator[simpy.Event, object, None]:
        env = self.env
        if at > env.now:
            yield env.timeout(at - env.now)
        log = self.log
        self.requests.append(np.array([log.new(FLOW, KIND, hh, env.now)
                                       for hh in range(len(self.site.households))], dtype=int))
        self.known.append({})
        for top in self.tops:
            self._learn(k, top)

    def _learn(self, k: int, station: Station) -> None:
        self.known[k][station] = self.env.now
        if station in self.children or station in self.members:
            self.env.process(self._pass_on(k, station))

    def _pass_on(self, k: int, station: Station) -> Generator[simpy.Event, object, None]:
        env, site = self.env, self.site
        heads = self.children.get(station, [])
        members = self.members.get(station, [])
        offline = [hh for hh in members if self.offline[hh]]
        horizon = site.scenario.horizon
        if station.level in self.chat_levels:
            online = [hh for hh in members if not self.offline[hh]]
            yield from serve(env, station, self.priority, False, ((self.post(), None),))
            posted = env.now
            for child in heads:
                env.process(self._read_then_learn(k, child, self.head_read()))
            # A member reading the chat only writes records (a reply waits for its own
            # time): no event of its own, and none after the horizon.
            for hh in online:
                read = posted + self.read[k, hh]
                if read < horizon:
                    self._knows(k, hh, "chat")(read)
        else:
            steps = [(self.head_tell(), self._told(k, child)) for child in heads]
            steps += [(self.tell[k, hh], self._told_household(k, hh, "tell"))
                      for hh in members if not self.offline[hh]]
            if steps:
                yield from serve(env, station, self.priority, False, steps,
                                 records_until=horizon)
        if offline:
            steps = []
            households = site.households
            for hh in offline:
                household = households[hh]
                walk = site.walk_min(station.x_m, station.floor, household.x_m, household.floor,
                                     household.lift)
                steps.append((walk + self.knock[k, hh], self._told_household(k, hh, "knock")))
                steps.append((walk, None))
            yield from serve(env, station, self.priority, False, steps, records_until=horizon)

    def _read_then_learn(self, k: int, child: Station,
                         delay: float) -> Generator[simpy.Event, object, None]:
        yield self.env.timeout(delay)
        self._learn(k, child)

    def _told(self, k: int, child: Station):
        return lambda _time: self._learn(k, child)

    def _told_household(self, k: int, hh: int, how: str):
        """The callback of telling a household: records only, unless it will reply.

        A reply must start at its own time, so a replying household's call ends a run
        of calls that :func:`serve` times as one.
        """
        done = self._knows(k, hh, how)
        feedback = self.params.feedback is not None and self.replies[k, hh]
        return done if feedback else RecordOnly(done)

    def _knows(self, k: int, hh: int, how: str):
        def done(time: float) -> None:
            rid = int(self.requests[k][hh])
            log = self.log
            path = self.site.households[hh].path
            known = self.known[k]
            for below, above in zip(reversed(path[:-1]), reversed(path[1:]), strict=True):
                log.stage(rid, "relay", above.name, above.level, known[below])
            log.stage(rid, how, path[0].name, path[0].level, time)
            log.complete(rid, time)
            if self.params.feedback is not None and self.replies[k, hh]:
                created = time + self.reply_delay[k, hh]
                if created < self.site.scenario.horizon:
                    self.env.process(self._reply(k, hh, created))
        return done

    # ---- up -----------------------------------------------------------------------------------

    def _reply(self, k: int, hh: int, at: float) -> Generator[simpy.Event, object, None]:
        env, log = self.env, self.log
        if at > env.now:
            yield env.timeout(at - env.now)
        rid = log.new(FEEDBACK, REPLY, hh, env.now)
        relay = self.reply_relay[k, hh]
        for station in self.up[hh]:
            granted = yield from serve(env, station, self.priority, False,
                                       ((relay[station.level - 1], None),))
            log.hop(rid, "relay", station.name, station.level, granted, env.now)
        log.complete(rid, env.now)
