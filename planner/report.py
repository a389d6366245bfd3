"""Reports: summary.json, schedule.csv, allocation.csv, plan.png, report.md and the printed table.

Reports read result tables and evaluations; they never build model parts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from .economics import Evaluation
from .files import write_atomic, write_text_atomic
from .instance import PlanningData
from .solve import SolveResult, consecutive_runs

SUMMARY_FILES = ("summary.json", "schedule.csv", "allocation.csv", "plan.png", "report.md", "timings.json")
TIMING_KEYS = ("build_s", "solve_s", "wall_s")


def split_timings(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """summary.json without the timings (byte-identical for the same input and options) and the
    timings for timings.json."""
    solver = dict(record.get("solver") or {})
    timings = {k: solver.pop(k) for k in TIMING_KEYS if k in solver}
    return {**record, "solver": solver}, {"instance": record.get("instance"), **timings}


def summary(data: PlanningData, result: SolveResult, plan: Evaluation | None,
            reference: dict[str, Any] | None, wall_s: float) -> dict[str, Any]:
    """The summary.json record; its keys are a contract (docs/formats.md)."""
    totals = plan.totals if plan is not None else {}
    return {
        "instance": data.name,
        "source": data.source,
        "status": result.status,
        "termination": result.termination,
        "mip_gap": result.mip_gap,
        "objective_usd": result.objective_usd,
        "bound_usd": result.bound_usd,
        "formulation": result.formulation,
        "periods": data.periods,
        "period_hours": data.period_hours,
        **{k: totals.get(k) for k in ("nodes", "fleet", "cost_usd", "revenue_usd", "margin", "unserved_tokens",
                                      "ttft_shortfall", "training")},
        "slo": slo_summary(data),
        "reference": reference,
        "solver": {
            "name": "highs",
            "build_s": round(result.build_s, 4),
            "solve_s": round(result.solve_s, 4),
            "wall_s": round(wall_s, 4),
        },
    }


def slo_summary(data: PlanningData) -> dict[str, Any]:
    """Per served model: the promised latency and what it implies for each node type."""
    out = {}
    for m in data.served_models:
        model = data.spec.served_models[m]
        out[m] = {
            "decode_tokens_per_s_per_user": model.slo.decode_tokens_per_s_per_user,
            "ttft_s": model.slo.ttft_s,
            "ttft_percentile": model.slo.ttft_percentile if model.slo.ttft_s is not None else None,
            "by_node_type": {
                g: {
                    "decode_tokens_per_s_per_node": round(data.decode_tokens_per_s_per_node[(m, g)], 3),
                    "ttft_min_prefill_units_peak": int(max(data.min_prefill_units[(m, g)].max(), 0)),
                    "ttft_unattainable_periods": int((data.min_prefill_units[(m, g)] < 0).sum()),
                }
                for (mm, g) in data.deployments if mm == m
            },
        }
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def to_json(record: dict[str, Any]) -> str:
    return json.dumps(record, indent=2, default=_json_default) + "\n"


def write_frame(path: Path, frame: pd.DataFrame) -> None:
    write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.6g"))


# ---------------------------------------------------------------------------------------------
# Printed and markdown tables
# ---------------------------------------------------------------------------------------------
def _usd(x: float | None) -> str:
    return "-" if x is None else f"${x:,.0f}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:,.1f} %"


def _nodes(x: float | None) -> str:
    return "-" if x is None else f"{x:,.2f}".rstrip("0").rstrip(".")


def comparison_rows(record: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, plan, published) rows; the published column is empty without a reference."""
    published = (record.get("reference") or {}).get("published") or {}
    nodes, cost, revenue, margin = (record.get(k) or {} for k in ("nodes", "cost_usd", "revenue_usd", "margin"))
    gross_published = None
    if published:
        gross_published = (published["revenue_usd"] - published["cost_usd"]) / published["revenue_usd"]
    rows = [
        ("mean nodes in service", _nodes(nodes.get("mean")), _nodes(published.get("nodes_mean"))),
        ("peak nodes", _nodes(nodes.get("peak")), _nodes(published.get("nodes_peak"))),
        ("cost per day", _usd(cost.get("total")), _usd(published.get("cost_usd"))),
        ("revenue per day", _usd(revenue.get("total")), _usd(published.get("revenue_usd"))),
        ("cost-profit margin", _pct(margin.get("cost_profit")), _pct(published.get("cost_profit_margin"))),
        ("gross margin", _pct(margin.get("gross")), _pct(gross_published)),
    ]
    training = record.get("training")
    if training:
        rows += [
            ("training node-hours", _nodes(training["node_hours"]), _nodes(published.get("training_node_hours"))),
            ("share of fleet hours training", _pct(training["share_of_fleet_hours"]),
             _pct(published.get("training_share_of_fleet_hours"))),
            ("value of training", _usd(training["value_usd"]), "-"),
        ]
    return rows


def text_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    return tabulate(rows, headers=header, tablefmt="simple", colalign=("left",) + ("right",) * (len(header) - 1),
                    disable_numparse=True)


def markdown_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    return tabulate(rows, headers=header, tablefmt="github", disable_numparse=True)


def headline(record: dict[str, Any]) -> str:
    gap = record.get("mip_gap")
    gap_text = f", gap {100 * gap:.3g} %" if gap is not None else ""
    return (f"{record['instance']}: {record['status']}{gap_text}; "
            f"built in {record['solver']['build_s']:.2f} s, solved in {record['solver']['solve_s']:.2f} s")


def unserved_line(record: dict[str, Any]) -> str:
    u = record.get("unserved_tokens") or {}
    line = (f"unserved: {u.get('input', 0):,.0f} input tokens ({_pct(u.get('input_share'))}), "
            f"{u.get('output', 0):,.0f} output tokens ({_pct(u.get('output_share'))})")
    short = record.get("ttft_shortfall") or {}
    if short.get("periods"):
        line += f"; TTFT target missed in {short['periods']} period(s): {short['by_served_model']}"
    return line


def _table_columns(record: dict[str, Any], first: str) -> tuple[list[tuple[str, ...]], tuple[str, ...]]:
    """The comparison rows and header; without a reference, the published column is left out."""
    rows = comparison_rows(record)
    if record.get("reference"):
        return rows, (first, "plan", "published")
    return [row[:2] for row in rows], (first, "plan")


def fleet_line(record: dict[str, Any]) -> str:
    fleet = record.get("fleet") or {}
    owned = ", ".join(f"{g} {n:g}" for g, n in (fleet.get("owned") or {}).items() if n) or "none"
    rented = ", ".join(f"{g} {n:g}" for g, n in (fleet.get("rented_peak") or {}).items() if n) or "none"
    return f"fleet: owned {owned}; rented at peak {rented}"


def printed_summary(record: dict[str, Any]) -> str:
    rows, header = _table_columns(record, "")
    return "\n".join([headline(record), text_table(rows, header), unserved_line(record), fleet_line(record)])


def report_markdown(data: PlanningData, record: dict[str, Any], plan: Evaluation) -> str:
    calibrations = [
        f"- {m} on {g}: {data.spec.served_models[m].deployments[g].calibration.strip()}"
        for (m, g) in data.deployments
        if data.spec.served_models[m].deployments[g].calibration.strip()
    ]
    lines = [
        f"# Plan for {data.name}",
        "",
        data.spec.description.strip(),
        "",
        f"**{headline(record)}**",
        "",
        markdown_table(*_table_columns(record, "figure")),
        "",
        unserved_line(record),
        "",
        fleet_line(record).capitalize() + ".",
        "",
        "![nodes by role per period](plan.png)",
        "",
    ]
    if calibrations:
        lines += ["## Calibration", "", *calibrations, ""]
    lines += ["## Service levels", "", _slo_markdown(record["slo"]), ""]
    lines += ["## Schedule", "", _schedule_markdown(plan.schedule), ""]
    files = [*SUMMARY_FILES, *(("training.csv",) if record.get("training") else ())]
    lines += ["Files: " + ", ".join(f"`{f}`" for f in files), ""]
    return "\n".join(lines)


def _slo_markdown(slo: dict[str, Any]) -> str:
    rows = []
    for m, promise in slo.items():
        ttft = "-" if promise["ttft_s"] is None else f"{promise['ttft_s']:g} s (p{100 * promise['ttft_percentile']:g})"
        speed = promise["decode_tokens_per_s_per_user"]
        for g, implied in promise["by_node_type"].items():
            rows.append((m, g, "measured point" if speed is None else f"{speed:g}",
                         f"{implied['decode_tokens_per_s_per_node']:,.0f}", ttft,
                         str(implied["ttft_min_prefill_units_peak"])))
    return markdown_table(rows, ("served model", "node type", "decode tokens/s per user",
                                 "decode tokens/s per node", "TTFT target", "min prefill units (peak)"))


def _schedule_markdown(schedule: pd.DataFrame) -> str:
    columns = ["start", "prefill_nodes", "decode_nodes", "idle_nodes", "cost_usd", "revenue_usd"]
    rows = [
        (row.start, _nodes(row.prefill_nodes), _nodes(row.decode_nodes), _nodes(row.idle_nodes),
         _usd(row.cost_usd), _usd(row.revenue_usd))
        for row in schedule[columns].itertuples(index=False)
    ]
    return markdown_table(rows, tuple(columns))


# ---------------------------------------------------------------------------------------------
# Chart
# ---------------------------------------------------------------------------------------------
def training_rows(data: PlanningData, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """training.csv: one row per job segment (or job left out) and per harvest window."""
    starts = data.period_starts
    end_of = lambda t: (starts[t] + pd.Timedelta(hours=data.period_hours)).strftime("%Y-%m-%dT%H:%M%z")  # noqa: E731
    rows = []
    for job in tables["jobs"].itertuples(index=False):
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
    for g, group in tables["harvest"].groupby("node_type"):
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
    columns = ["name", "kind", "node_type", "nodes", "start", "end", "first_period", "last_period", "node_hours",
               "value_usd", "status", "required"]
    return pd.DataFrame(rows, columns=columns)


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> None:
    """Lay out, write atomically as PNG, and close a figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)


def plan_chart(path: Path, data: PlanningData, plan: Evaluation, published: np.ndarray | None,
               training: pd.DataFrame | None = None) -> None:
    """Nodes by role per period (stacked steps); the published steps as a line when given; with
    training, a Gantt chart of jobs and harvest windows below, on the same time axis."""
    plt = pyplot()

    s = plan.schedule
    periods = data.horizon_periods
    if data.scenarios > 1:  # the mean over scenarios, hour by hour
        s = s.drop(columns=["start"]).groupby("period", as_index=False).mean()
        published = None if published is None else published[:periods]
    x = np.arange(periods + 1) * data.period_hours
    gantt = training is not None and len(training) > 0
    if gantt:
        fig, (ax, lower) = plt.subplots(2, 1, figsize=(10, 6.8), dpi=110, sharex=True,
                                        gridspec_kw={"height_ratios": [3, 1.4]})
        _gantt(lower, training, data)
    else:
        fig, ax = plt.subplots(figsize=(10, 4.5), dpi=110)
    bottom = np.zeros(periods)
    for column, colour, label in (("prefill_nodes", "#4C72B0", "prefill"), ("decode_nodes", "#DD8452", "decode"),
                                  ("training_nodes", "#55A868", "training"), ("idle_nodes", "#C7C7C7", "idle")):
        values = s[column].to_numpy(dtype=float)
        if not values.any():
            continue
        ax.stairs(bottom + values, x, baseline=bottom, fill=True, color=colour, label=label, alpha=0.9)
        bottom = bottom + values
    if published is not None:
        ax.stairs(published, x, color="black", linewidth=1.6, label=f"published (mean {published.mean():.2f})")
    step = max(1, periods // 12)
    ticks = np.arange(0, periods, step)
    bottom_axis = lower if gantt else ax
    bottom_axis.set_xticks(ticks * data.period_hours)
    bottom_axis.set_xticklabels(data.period_starts[ticks].strftime("%H:%M"), rotation=0)
    bottom_axis.set_xlim(0, x[-1])
    bottom_axis.set_xlabel(f"local time from {data.period_starts[0].strftime('%Y-%m-%d %H:%M %z')}")
    ax.set_ylabel("nodes")
    over = f", mean of {data.scenarios} scenarios" if data.scenarios > 1 else ""
    ax.set_title(f"{data.name}: nodes by role (mean in service {s['serving_nodes'].mean():.2f}{over})")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.04 if gantt else -0.14), ncols=5, fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    save_figure(fig, path)


def _gantt(ax, training: pd.DataFrame, data: PlanningData) -> None:
    """One bar per job segment and harvest window, labelled with its nodes."""
    names = list(dict.fromkeys(training["name"]))
    for row in training[training["status"] == "scheduled"].itertuples(index=False):
        y = names.index(row.name)
        start = row.first_period * data.period_hours
        width = (row.last_period - row.first_period + 1) * data.period_hours
        colour = "#55A868" if row.kind == "job" else "#8172B2"
        ax.barh(y, width, left=start, color=colour, alpha=0.9, height=0.6)
        ax.text(start + width / 2, y, f"{row.nodes} nodes", ha="center", va="center", fontsize=7, color="white")
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels([n + ("" if (training.loc[training["name"] == n, "status"] == "scheduled").any() else " (left out)")
                        for n in names], fontsize=8)
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)


def write_plan(out: Path, data: PlanningData, record: dict[str, Any], plan: Evaluation,
               tables: dict[str, pd.DataFrame], published_nodes: np.ndarray | None) -> list[Path]:
    """Write every output file of a solved plan, each atomically. Returns the paths written."""
    out = Path(out)
    paths = [out / name for name in SUMMARY_FILES]
    training = training_rows(data, tables) if "jobs" in tables else None
    write_frame(paths[1], plan.schedule)
    write_frame(paths[2], tables["units"])
    if training is not None:
        write_frame(out / "training.csv", training)
        paths.append(out / "training.csv")
    plan_chart(paths[3], data, plan, published_nodes, training)
    write_text_atomic(paths[4], report_markdown(data, record, plan))
    summary_only, timings = split_timings(record)
    write_text_atomic(paths[5], to_json(timings))
    write_text_atomic(paths[0], to_json(summary_only))  # last: its presence marks a complete result
    return paths
