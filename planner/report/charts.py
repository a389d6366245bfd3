"""Charts: the plan (nodes by role, a Gantt of training), the SLO frontier, the reseller's scale
sweep, the margin waterfall, marginal costs and sweeps. matplotlib is imported when a chart is drawn."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..io.files import write_atomic
from ..io.schema.margins import MarginAssumptions
from ..io.schema.sweep import Chart
from ..physics.clock import window_share
from ..physics.data import PlanningData
from ..results.economics import Evaluation


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, margins: dict[str, float] | None = None) -> None:
    """Lay out (fixed `margins` of subplots_adjust, else tight_layout, which measures every
    label and costs a tenth of a second), write atomically as PNG, and close a figure."""
    import matplotlib.pyplot as plt

    if margins:
        fig.subplots_adjust(**margins)
    else:
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
    save_figure(fig, path, None if gantt else {"left": 0.07, "right": 0.985, "top": 0.93, "bottom": 0.2})


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


def frontier_chart(path: Path, frame: pd.DataFrame, title: str) -> None:
    """Cost per day and per million output tokens against promised speed, a line per TTFT target."""
    plt = pyplot()

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    planned = frame[frame["cost_usd"].notna()]
    for ttft, group in planned.groupby(planned["ttft_s"].fillna(-1.0), sort=False):
        label = "no TTFT target" if ttft < 0 else f"TTFT target {ttft:g} s"
        x = group["decode_tokens_per_s_per_user"].astype(float)
        left.plot(x, group["cost_usd"].astype(float) / 1000, marker="o", label=label)
        right.plot(x, group["usd_per_million_output_tokens"].astype(float), marker="o", label=label)
    left.set_ylabel("plan cost, thousand USD per day")
    right.set_ylabel("USD per million output tokens")
    for ax in (left, right):
        ax.set_xlabel("promised decode speed, tokens/s per user")
        ax.grid(alpha=0.3)
    bound = planned[planned["kv_binding_periods"].fillna(0).astype(float) > 0]
    if len(bound):
        left.scatter(bound["decode_tokens_per_s_per_user"].astype(float), bound["cost_usd"].astype(float) / 1000,
                     s=110, facecolors="none", edgecolors="black", label="KV memory binds", zorder=3)
    left.legend(fontsize=8)
    unattainable = frame.loc[frame["status"] == "unattainable", "ttft_s"].dropna().unique()
    if len(unattainable):
        targets = ", ".join(f"{t:g} s" for t in unattainable)
        fig.text(0.5, 0.01, f"not drawn: TTFT {targets}, unattainable (see frontier.csv's note)", ha="center",
                 fontsize=8)
    fig.suptitle(title)
    save_figure(fig, path)


def scale_chart(path: Path, sweep: pd.DataFrame, break_even: float | None, title: str,
                ratios: Sequence[tuple[str, float]] = ()) -> None:
    """Provisioning ratio and margin against volume; `ratios` (label, value) are published
    provisioning ratios drawn as lines."""
    plt = pyplot()

    solved = sweep.dropna(subset=["provisioning_ratio"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    left.plot(solved["output_tokens_per_day"], solved["provisioning_ratio"], marker="o")
    for (label, value), style in zip(ratios, (("grey", "--"), ("tab:red", ":"), ("tab:purple", "-."))):
        left.axhline(value, color=style[0], linestyle=style[1], label=label)
    left.set_ylabel("leased fleet / nodes needed at full use")
    right.plot(solved["output_tokens_per_day"], 100 * solved["cost_profit_margin"], marker="o", color="tab:green")
    right.axhline(0, color="black", linewidth=0.8)
    if break_even:
        right.axvline(break_even, color="tab:green", linestyle="--", label=f"break-even {break_even / 1e9:.3g} B/day")
    right.set_ylabel("cost-profit margin at list prices, %")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("output tokens per day")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle(title)
    save_figure(fig, path)


def waterfall_chart(path, columns: Mapping[str, Sequence], title: str) -> None:
    """Cost-profit margin after each step (studies.margins.Step), one panel per schedule."""
    plt = pyplot()

    fig, axes = plt.subplots(1, len(columns), figsize=(6.5 * len(columns), 4.6), dpi=110, squeeze=False)
    for ax, (label, steps) in zip(axes[0], columns.items()):
        margins = [100 * (st.cost_profit or 0.0) for st in steps]
        colours = ["#4C72B0"] + ["#C44E52" if b < a else "#55A868" for a, b in zip(margins, margins[1:])]
        ax.bar(range(len(steps)), margins, color=colours)
        for i, value in enumerate(margins):
            ax.text(i, value, f"{value:.0f} %", ha="center", va="bottom" if value >= 0 else "top", fontsize=8)
        ax.set_xticks(range(len(steps)))
        ax.set_xticklabels([st.name for st in steps], rotation=35, ha="right", fontsize=8)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_ylabel("cost-profit margin after the step, %")
        ax.set_title(label)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title)
    save_figure(fig, path)


def marginal_cost_chart(path, data: PlanningData, costs: pd.DataFrame, a: MarginAssumptions, title: str) -> None:
    """Marginal cost of output and input tokens per hour against the output price schedule."""
    plt = pyplot()

    x = np.arange(data.horizon_periods) * data.period_hours
    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=110)
    costs = costs[costs["run"] == "fleet_fixed"] if "run" in costs else costs
    for (m, role), rows in costs.groupby(["served_model", "role"]):
        mean = rows.groupby(rows["period"] % data.horizon_periods)["usd_per_million_tokens"].mean()
        ax.step(x, mean.reindex(range(data.horizon_periods)).to_numpy(), where="post",
                label=f"marginal cost within the plan's fleet, {role} ({m}), $ per M "
                      f"{'output' if role == 'decode' else 'input'} tokens")
    list_output = data.prices_usd_per_mtok["output"][0][: data.horizon_periods]
    ax.step(x, list_output, where="post", color="black", linestyle="--", label="output list price")
    if a.night_discount is not None:
        night = window_share(data.period_starts[: data.horizon_periods], data.period_hours,
                             a.night_discount.start, a.night_discount.end)
        ax.step(x, list_output * (1 - night * (1 - a.night_discount.r1_price_factor)), where="post",
                color="grey", linestyle=":", label="output price with the night discount")
    ticks = np.arange(0, data.horizon_periods, max(1, data.horizon_periods // 12))
    ax.set_xticks(ticks * data.period_hours)
    ax.set_xticklabels(data.period_starts[ticks].strftime("%H:%M"))
    ax.set_yscale("log")
    ax.set_ylabel("USD per million tokens")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    save_figure(fig, path)


def sweep_chart(path: Path, table: pd.DataFrame, chart: Chart, title: str) -> None:
    plt = pyplot()

    ok = table[table["run"] == "ok"].sort_values(chart.x)
    fig, axes = plt.subplots(1, len(chart.y), figsize=(5.2 * len(chart.y), 4), dpi=110, squeeze=False)
    for ax, metric in zip(axes[0], chart.y):
        ax.plot(ok[chart.x].astype(float), ok[metric].astype(float), marker="o")
        ax.set_xlabel(chart.x)
        ax.set_ylabel(metric)
        if chart.logx:
            ax.set_xscale("log")
        ax.grid(alpha=0.3)
    fig.suptitle(chart.title or title)
    save_figure(fig, path)
