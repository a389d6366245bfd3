"""Tables written beside a plan: training.csv (one row per job segment and harvest window)."""

from __future__ import annotations

from typing import Mapping

import pandas as pd

from ..model.tables import consecutive_runs
from ..physics.data import PlanningData

TRAINING_COLUMNS = ["name", "kind", "node_type", "nodes", "start", "end", "first_period", "last_period", "node_hours",
                    "value_usd", "status", "required"]


def training_rows(data: PlanningData, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """training.csv: one row per job segment (or job left out) and per harvest window."""
    starts = data.period_starts
    end_of = lambda t: (starts[t] + pd.Timedelta(hours=data.period_hours)).strftime("%Y-%m-%dT%H:%M%z")  # noqa: E731
    rows = []
    for job in (tables["jobs"].itertuples(index=False) if "jobs" in tables else ()):
        placed = job.first_period is not None and job.first_period == job.first_period
        first, last = (int(job.first_period), int(job.last_period)) if placed else (None, None)
        rows.append({
            "name": job.job, "kind": "job", "node_type": job.node_type, "nodes": job.gang_nodes,
            "start": starts[first].strftime("%Y-%m-%dT%H:%M%z") if placed else "",
            "end": end_of(last) if placed else "", "first_period": first, "last_period": last,
            "node_hours": job.gang_nodes * (last - first + 1) * data.period_hours if placed else 0.0,
            "value_usd": job.value_usd, "status": "scheduled" if job.done else "left out",
            "required": job.required,
        })
    harvest = tables["harvest"] if "harvest" in tables else pd.DataFrame(columns=["node_type", "period"])
    for g, group in harvest.groupby("node_type"):
        active = group.sort_values("period")
        periods = active.loc[active["harvest_nodes"] > 0, "period"].tolist()
        price = data.training.harvest[g].usd_per_node_hour
        for window in consecutive_runs(periods):
            nodes = active.set_index("period").loc[list(window)]
            lost = data.training.switch_share * nodes["opened_nodes"].sum()
            node_hours = float(nodes["harvest_nodes"].sum()) * data.period_hours
            rows.append({
                "name": f"harvest-{g}", "kind": "harvest", "node_type": g, "nodes": int(nodes["harvest_nodes"].max()),
                "start": starts[window[0]].strftime("%Y-%m-%dT%H:%M%z"), "end": end_of(window[-1]),
                "first_period": window[0], "last_period": window[-1], "node_hours": node_hours,
                "value_usd": price * (node_hours - lost * data.period_hours), "status": "scheduled", "required": False,
            })
    return pd.DataFrame(rows, columns=TRAINING_COLUMNS)
