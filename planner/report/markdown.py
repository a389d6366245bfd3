"""report.md: a plan for a reader, from its summary record and its schedule."""

from __future__ import annotations

import pandas as pd

from ..results.result import PlanResult, ServicePromise
from .text import fleet_line, headline, markdown_table, nodes, table_columns, unserved_line, usd

PLAN_FILES = ("summary.json", "schedule.csv", "allocation.csv", "plan.png", "report.md", "timings.json")


def report_markdown(result: PlanResult, has_training: bool = False) -> str:
    """report.md of a plan."""
    data, plan = result.data, result.plan
    calibrations = [f"- {m} on {g}: {data.calibrations[(m, g)]}" for (m, g) in data.deployments
                    if data.calibrations.get((m, g))]
    lines = [
        f"# Plan for {data.name}",
        "",
        data.description.strip(),
        "",
        f"**{headline(result)}**",
        "",
        markdown_table(*table_columns(result, "figure")),
        "",
        unserved_line(result),
        "",
        fleet_line(result).capitalize() + ".",
        "",
        "![nodes by role per period](plan.png)",
        "",
    ]
    if calibrations:
        lines += ["## Calibration", "", *calibrations, ""]
    lines += ["## Service levels", "", _slo_markdown(result.service), ""]
    lines += ["## Schedule", "", _schedule_markdown(plan.schedule), ""]
    files = [*PLAN_FILES, *(("training.csv",) if has_training else ())]
    lines += ["Files: " + ", ".join(f"`{f}`" for f in files), ""]
    return "\n".join(lines)


def _slo_markdown(service: dict[str, ServicePromise]) -> str:
    rows = []
    for m, promise in service.items():
        ttft = "-" if promise.ttft_s is None else f"{promise.ttft_s:g} s (p{100 * promise.ttft_percentile:g})"
        speed = promise.decode_tokens_per_s_per_user
        for g, implied in promise.by_node_type.items():
            rows.append((m, g, "measured point" if speed is None else f"{speed:g}",
                         f"{implied.decode_tokens_per_s_per_node:,.0f}", ttft,
                         str(implied.ttft_min_prefill_units_peak)))
    return markdown_table(rows, ("served model", "node type", "decode tokens/s per user",
                                 "decode tokens/s per node", "TTFT target", "min prefill units (peak)"))


def _schedule_markdown(schedule: pd.DataFrame) -> str:
    columns = ["start", "prefill_nodes", "decode_nodes", "idle_nodes", "cost_usd", "revenue_usd"]
    rows = [
        (row.start, nodes(row.prefill_nodes), nodes(row.decode_nodes), nodes(row.idle_nodes),
         usd(row.cost_usd), usd(row.revenue_usd))
        for row in schedule[columns].itertuples(index=False)
    ]
    return markdown_table(rows, tuple(columns))
