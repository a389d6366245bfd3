"""Why there is no plan: a minimum-violation solve that says which periods, roles and jobs
cannot hold, by how much, and which limits bind there.

When the hard limits (no unserved tokens, TTFT targets, required training jobs, the scenario
SLO share, fleet maximums) cannot all hold, the instance is solved again with every hard limit
made soft at a violation price far above any cost: unserved tokens at $10^6 per million,
required jobs optional with a value of $10^9, no chance constraint. What that plan leaves unserved or unplaced is the least that must give.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .instance import TOKENS_PER_MTOK, PlanningData
from .solve import SolverOptions, solve

VIOLATION_USD_PER_MILLION_TOKENS = 1e6
REQUIRED_JOB_VALUE_USD = 1e9


def relaxed(data: PlanningData) -> PlanningData:
    """The same instance with every hard limit priced instead."""
    penalties = data.penalties.model_copy(update={
        "allow_unserved": True,
        "unserved_input_usd_per_million_tokens": VIOLATION_USD_PER_MILLION_TOKENS,
        "unserved_output_usd_per_million_tokens": VIOLATION_USD_PER_MILLION_TOKENS,
    })
    jobs = tuple(dataclasses.replace(j, required=False, value_usd=REQUIRED_JOB_VALUE_USD) if j.required else j
                 for j in data.training.jobs)
    spec = data.spec.model_copy(update={"scenarios": data.spec.scenarios.model_copy(update={"slo_share": None})})
    return dataclasses.replace(data, spec=spec, penalties=penalties,
                               training=dataclasses.replace(data.training, jobs=jobs))


def diagnose(data: PlanningData, options: SolverOptions) -> dict[str, Any]:
    """The minimum-violation plan's shortfalls, per period and role, and the limits that bind."""
    result = solve(relaxed(data), options)
    if not result.has_plan:
        return {"status": "undiagnosed", "reason": f"the minimum-violation solve stopped with {result.termination}"}
    tables = result.tables
    unserved = tables["unserved"]
    short = unserved[unserved["unserved_mtok"] > 1e-9]
    fleet = _fleet_at_limit(data, tables)
    rows = []
    for row in short.itertuples(index=False):
        t = int(row.period)
        rows.append({
            "period": t,
            "start": data.period_starts[t].strftime("%Y-%m-%dT%H:%M%z"),
            "served_model": row.served_model,
            "role": row.role,
            "tokens_short": float(row.unserved_mtok * TOKENS_PER_MTOK),
            "share_short": float(row.unserved_share),
            "nodes_short": _nodes_short(data, row.served_model, row.role, t, row.unserved_mtok),
            "limits_binding": fleet.get(t, []),
        })
    jobs = []
    if "jobs" in tables:
        required = {j.name for j in data.training.jobs if j.required}
        placed = tables["jobs"].groupby("job")["done"].first()
        jobs = [{"job": name, "placed": bool(placed.get(name, False))} for name in sorted(required)]
    ttft = []
    if "ttft_shortfall" in tables:
        missed = tables["ttft_shortfall"]
        ttft = [{"period": int(r.period), "served_model": r.served_model, "pool_share_short": float(r.shortfall_share)}
                for r in missed[missed["shortfall_share"] > 1e-6].itertuples(index=False)]
    rows.sort(key=lambda r: (r["period"], r["served_model"], r["role"]))
    return {"status": "diagnosed", "shortfalls": rows, "ttft_missed": ttft,
            "required_jobs_not_placed": [j["job"] for j in jobs if not j["placed"]]}


def _nodes_short(data: PlanningData, m: str, r: str, t: int, mtok: float) -> float:
    """Nodes of the model's first deployment that the shortfall would take, at full use."""
    g = next(gg for (mm, gg) in data.deployments if mm == m)
    per_node = data.unit_capacity_mtok[(m, g, r)][t] / data.unit_nodes[(m, g, r)]
    return float(np.ceil(mtok / per_node - 1e-9))


def _fleet_at_limit(data: PlanningData, tables) -> dict[int, list[str]]:
    """Per period, the node types whose owned and rented nodes are at their maximums, to within
    the smallest unit of that type (whole units cannot fill the last few nodes)."""
    owned = tables["owned"].set_index("node_type")["owned_nodes"]
    out: dict[int, list[str]] = {}
    for row in tables["rented"].itertuples(index=False):
        node = data.node_type(row.node_type)
        unit = min(n for (m, g, r), n in data.unit_nodes.items() if g == row.node_type)
        owned_full = node.owned_max_nodes is not None and owned.get(row.node_type, 0) > node.owned_max_nodes - unit
        rented_full = node.rental_max_nodes is not None and row.rented_nodes > node.rental_max_nodes - unit
        if owned_full and rented_full:
            out.setdefault(int(row.period), []).append(
                f"{row.node_type} at {node.owned_max_nodes or 0} owned + {node.rental_max_nodes or 0} rented nodes")
    return out


def message(diagnosis: dict[str, Any]) -> str:
    """One paragraph for the terminal."""
    if diagnosis.get("status") != "diagnosed":
        return diagnosis.get("reason", "no diagnosis")
    parts = []
    rows = diagnosis["shortfalls"]
    if rows:
        periods = sorted({r["start"] for r in rows})
        worst = max(rows, key=lambda r: r["tokens_short"])
        limits = sorted({limit for r in rows for limit in r["limits_binding"]})
        parts.append(f"demand cannot be served in {len(periods)} period(s) from {periods[0]} to {periods[-1]}; "
                     f"worst {worst['start']}: {worst['tokens_short']:,.0f} {worst['role']} tokens of "
                     f"{worst['served_model']} short (about {worst['nodes_short']:g} nodes)"
                     + (f"; binding: {', '.join(limits)}" if limits else ""))
    if diagnosis["ttft_missed"]:
        parts.append(f"the TTFT target cannot hold in {len(diagnosis['ttft_missed'])} period(s)")
    if diagnosis["required_jobs_not_placed"]:
        parts.append(f"required jobs that cannot be placed: {', '.join(diagnosis['required_jobs_not_placed'])}")
    return "; ".join(parts) or "the limits conflict, but the minimum-violation plan violates none (numerical)"
