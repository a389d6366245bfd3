"""Why there is no plan: a minimum-violation solve that says which periods, roles and jobs
cannot hold, by how much, and which limits bind there.

When the hard limits (no unserved tokens, TTFT targets, required training jobs, the scenario
SLO share, fleet maximums) cannot all hold, the instance is solved again with every hard limit
made soft at a violation price far above any cost: unserved tokens at $10^6 per million,
required jobs optional with a value of $10^9, no chance constraint. What that plan leaves
unserved or unplaced is the least that must give.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..physics.data import PlanningData
from ..units import TOKENS_PER_MTOK
from .solve import SolverOptions, solve

VIOLATION_USD_PER_MILLION_TOKENS = 1e6
REQUIRED_JOB_VALUE_USD = 1e9


@dataclass(frozen=True)
class Shortfall:
    """Demand of one (period, served model, role) that the minimum-violation plan cannot serve."""

    period: int
    start: str
    served_model: str
    role: str
    tokens_short: float
    share_short: float
    nodes_short: float  # nodes of the model's first deployment, at full use
    limits_binding: tuple[str, ...]


@dataclass(frozen=True)
class Diagnosis:
    """What must give for a plan to exist (diagnosis.json is `as_record()`)."""

    status: str  # diagnosed | undiagnosed
    reason: str = ""
    shortfalls: tuple[Shortfall, ...] = ()
    ttft_missed: tuple[dict[str, Any], ...] = ()
    required_jobs_not_placed: tuple[str, ...] = ()

    def as_record(self) -> dict[str, Any]:
        if self.status != "diagnosed":
            return {"status": self.status, "reason": self.reason}
        return {"status": self.status,
                "shortfalls": [{**dataclasses.asdict(s), "limits_binding": list(s.limits_binding)}
                               for s in self.shortfalls],
                "ttft_missed": [dict(t) for t in self.ttft_missed],
                "required_jobs_not_placed": list(self.required_jobs_not_placed)}


def relaxed(data: PlanningData) -> PlanningData:
    """The same instance with every hard limit priced instead."""
    penalties = dataclasses.replace(data.penalties, allow_unserved=True,
                                    unserved_input_usd_per_million_tokens=VIOLATION_USD_PER_MILLION_TOKENS,
                                    unserved_output_usd_per_million_tokens=VIOLATION_USD_PER_MILLION_TOKENS)
    jobs = tuple(dataclasses.replace(j, required=False, value_usd=REQUIRED_JOB_VALUE_USD) if j.required else j
                 for j in data.training.jobs)
    return dataclasses.replace(data, penalties=penalties, scenario_slo_share=None,
                               training=dataclasses.replace(data.training, jobs=jobs))


def diagnose(data: PlanningData, options: SolverOptions) -> Diagnosis:
    """The minimum-violation plan's shortfalls, per period and role, and the limits that bind."""
    result = solve(relaxed(data), options)
    if not result.has_plan:
        return Diagnosis("undiagnosed", reason=f"the minimum-violation solve stopped with {result.termination}")
    tables = result.tables
    unserved = tables["unserved"]
    short = unserved[unserved["unserved_mtok"] > 1e-9]
    fleet = _fleet_at_limit(data, tables)
    rows = [Shortfall(period=int(row.period), start=data.period_starts[int(row.period)].strftime("%Y-%m-%dT%H:%M%z"),
                      served_model=row.served_model, role=row.role,
                      tokens_short=float(row.unserved_mtok * TOKENS_PER_MTOK), share_short=float(row.unserved_share),
                      nodes_short=_nodes_short(data, row.served_model, row.role, int(row.period), row.unserved_mtok),
                      limits_binding=tuple(fleet.get(int(row.period), [])))
            for row in short.itertuples(index=False)]
    required = sorted(j.name for j in data.training.jobs if j.required)
    placed = tables["jobs"].groupby("job")["done"].first() if "jobs" in tables else {}
    ttft = ()
    if "ttft_shortfall" in tables:
        missed = tables["ttft_shortfall"]
        ttft = tuple({"period": int(r.period), "served_model": r.served_model, "pool_share_short": float(r.shortfall_share)}
                     for r in missed[missed["shortfall_share"] > 1e-6].itertuples(index=False))
    rows.sort(key=lambda r: (r.period, r.served_model, r.role))
    return Diagnosis("diagnosed", shortfalls=tuple(rows), ttft_missed=ttft,
                     required_jobs_not_placed=tuple(name for name in required if not bool(placed.get(name, False))))


def _nodes_short(data: PlanningData, m: str, r: str, t: int, mtok: float) -> float:
    """Nodes of the model's first deployment that the shortfall would take, at full use."""
    g = data.deployed_types(m)[0]
    per_node = data.unit_capacity_mtok[(m, g, r)][t] / data.unit_nodes[(m, g, r)]
    return float(np.ceil(mtok / per_node - 1e-9))


def _fleet_at_limit(data: PlanningData, tables) -> dict[int, list[str]]:
    """Per period, the node types whose owned, reserved and rented nodes are at their maximums,
    to within the smallest unit of that type (whole units cannot fill the last few nodes)."""
    owned = tables["owned"].set_index("node_type")["owned_nodes"]
    out: dict[int, list[str]] = {}
    for row in tables["rented"].itertuples(index=False):
        node = data.node_type(row.node_type)
        unit = min(n for (m, g, r), n in data.unit_nodes.items() if g == row.node_type)
        owned_full = node.owned_max_nodes is not None and owned.get(row.node_type, 0) > node.owned_max_nodes - unit
        rented_full = node.rental_max_nodes is not None and row.rented_nodes > node.rental_max_nodes - unit
        if owned_full and rented_full and _reserved_full(data, tables.get("reserved"), row.node_type, row.period, unit):
            held = f" + {sum(c.max_nodes for c in node.reserved)} reserved" if node.reserved else ""
            out.setdefault(int(row.period), []).append(
                f"{row.node_type} at {node.owned_max_nodes or 0} owned{held} + {node.rental_max_nodes or 0} rented nodes")
    return out


def _reserved_full(data: PlanningData, reserved, g: str, t: int, unit: int) -> bool:
    """Every reserved contract of node type g at its maximum in period t (true without contracts)."""
    for c in data.node_type(g).reserved:
        if c.max_nodes is None:
            return False
        held = 0 if reserved is None else reserved.loc[(reserved["node_type"] == g) & (reserved["contract"] == c.name)
                                                       & (reserved["term"] == data.term_of_period(t, c.term_hours)),
                                                       "reserved_nodes"].sum()
        if held <= c.max_nodes - unit:
            return False
    return True
