"""Escalation policies and sealed gates opened by a head."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.log import COMPLETED
from sim.metrics import conservation, requests_frame
from sim.model import RunRecords

from .conftest import make_scenario
from .test_emergency_fleet import emergency_dict, run

GATE = {"opener": "grid", "unlock": "1min", "reach_head": "30min"}


def gated(report: str, gate: dict | None = GATE) -> dict:
    data = emergency_dict()
    data["emergency"]["ambulances"]["count"] = 4
    for severity in data["emergency"]["severities"].values():
        severity["report"] = report
    if gate is not None:
        data["emergency"]["gate"] = gate
    return data


def gate_waits(records: RunRecords) -> pd.DataFrame:
    requests = requests_frame([records]).set_index("request_id")
    stages = pd.DataFrame(records.stages, columns=["request_id", "stage", "node", "level",
                                                   "start_min", "end_min"])
    gate = stages[stages["stage"] == "gate"].set_index("request_id")
    gate = gate.assign(minutes=gate["end_min"] - gate["start_min"])
    return requests.join(gate["minutes"]).fillna({"minutes": 0.0})


@pytest.mark.parametrize("report", ["chain", "hotline", "skip_level", "direct"])
def test_every_case_accounted_for_with_sealed_gates(report: str) -> None:
    records, _ = run(make_scenario(gated(report)))
    assert conservation([records])["balanced"].all()


def test_hotline_case_waits_for_the_head_at_a_sealed_gate() -> None:
    """No head told: each online case waits at the gate at least the time to reach the head."""
    records, _ = run(make_scenario(gated("hotline")))
    table = gate_waits(records)
    online = table[(table["status"] == COMPLETED) & (table["household_group"] != "offline")]
    assert len(online) > 5
    assert (online["minutes"] >= 30.0).all()


def test_skip_level_beats_hotline_alone_at_sealed_gates() -> None:
    """Paired replications: heads told in parallel open the gate sooner."""
    faster = []
    for rep in range(3):
        means = []
        for report in ("skip_level", "hotline"):
            table = requests_frame([run(make_scenario(gated(report)), rep)[0]])
            means.append(table["response_min"].mean())
        faster.append(means[1] - means[0])
    assert min(faster) > 0, faster


def test_skip_level_beats_the_chain() -> None:
    """Paired replications: calling the hotline at once skips the relay before dispatch."""
    faster = []
    for rep in range(3):
        means = []
        for report in ("skip_level", "chain"):
            table = requests_frame([run(make_scenario(gated(report, gate=None)), rep)[0]])
            means.append(table["response_min"].mean())
        faster.append(means[1] - means[0])
    assert min(faster) > 0, faster
