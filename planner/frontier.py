"""SLO frontier: the plan's cost against promised per-user decode speed and TTFT targets.

Each point is one solve of the instance with `--set` overrides of the served model's `slo`;
points a profile cannot serve (a speed faster than its fastest operating point, a TTFT below a
lone prompt's prefill time) are recorded as unattainable rather than failing the frontier.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .api import solve_data
from .errors import InputError
from .instance import load_instance
from .solve import solver_options
from .report import pyplot, save_figure

FRONTIER_COLUMNS = (
    "decode_tokens_per_s_per_user", "ttft_s", "status", "cost_usd", "nodes_mean", "nodes_peak",
    "usd_per_million_output_tokens", "unserved_output_share", "usd_per_day_per_extra_token_per_s",
    "usd_per_million_output_tokens_per_extra_token_per_s", "ttft_missed_periods", "note",
)
#: Short headers for the printed table.
DISPLAY = {
    "decode_tokens_per_s_per_user": "tok/s/user", "ttft_s": "TTFT s", "status": "status", "cost_usd": "$/day",
    "nodes_mean": "mean nodes", "nodes_peak": "peak", "usd_per_million_output_tokens": "$/M out",
    "unserved_output_share": "unserved", "usd_per_day_per_extra_token_per_s": "+$/day per tok/s",
    "usd_per_million_output_tokens_per_extra_token_per_s": "+$/M per tok/s",
    "ttft_missed_periods": "TTFT missed",
}


def slo_overrides(served_model: str, speed: float | None, ttft: float | None) -> list[str]:
    base = f"served_models.{served_model}.slo"
    out = []
    if speed is not None:
        out.append(f"{base}.decode_tokens_per_s_per_user={speed}")
    out.append(f"{base}.ttft_s={'null' if ttft is None else ttft}")
    return out


def frontier_point(instance: Path, overrides: Sequence[str], served_model: str, speed: float | None,
                   ttft: float | None, solver: dict[str, Any]) -> dict[str, Any]:
    """Solve one SLO point; an unattainable SLO is a row with its reason, not an error."""
    row: dict[str, Any] = {"decode_tokens_per_s_per_user": speed, "ttft_s": ttft}
    try:
        data = load_instance(instance, [*overrides, *slo_overrides(served_model, speed, ttft)])
    except InputError as exc:
        section = f"served_models.{served_model}"
        if not (exc.field == section or exc.field.startswith(section + ".")):
            raise
        return {**row, "status": "unattainable", "note": exc.problem}
    outcome = solve_data(data, solver_options(data, **solver))
    s = outcome.summary
    if outcome.plan is None:
        return {**row, "status": s["status"], "note": s["termination"]}
    return {
        **row,
        "status": s["status"],
        "cost_usd": s["cost_usd"]["total"],
        "nodes_mean": s["nodes"]["mean"],
        "nodes_peak": s["nodes"]["peak"],
        "usd_per_million_output_tokens": s["cost_usd"]["per_million_output_tokens"],
        "unserved_output_share": s["unserved_tokens"]["output_share"],
        "ttft_missed_periods": (s.get("ttft_shortfall") or {}).get("periods", 0),
        "note": "",
    }


def slo_frontier(instance: str | Path, served_model: str, speeds: Sequence[float], ttfts: Sequence[float | None],
                 overrides: Sequence[str] = (), **solver: Any) -> pd.DataFrame:
    """One row per (TTFT target, speed), with the marginal daily cost of each extra token/s."""
    instance = Path(instance)
    data = load_instance(instance, overrides)
    if served_model not in data.served_models:
        raise InputError(instance, "--served-model", served_model, f"not a served model; the instance has {list(data.served_models)}")
    rows = [frontier_point(instance, overrides, served_model, v, ttft, solver)
            for ttft, v in itertools.product(ttfts, sorted(speeds))]
    frame = pd.DataFrame(rows).reindex(columns=FRONTIER_COLUMNS)
    for ttft, group in frame.groupby(frame["ttft_s"].fillna(-1.0), sort=False):
        costs = group["cost_usd"].astype(float)
        speeds_ = group["decode_tokens_per_s_per_user"].astype(float)
        frame.loc[group.index, "usd_per_day_per_extra_token_per_s"] = costs.diff() / speeds_.diff()
        per_mtok = group["usd_per_million_output_tokens"].astype(float)
        frame.loc[group.index, "usd_per_million_output_tokens_per_extra_token_per_s"] = per_mtok.diff() / speeds_.diff()
    return frame


def frontier_chart(path: Path, frame: pd.DataFrame, title: str) -> None:
    """Cost per day and per million output tokens against promised speed, a line per TTFT target."""
    plt = pyplot()

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    for ttft, group in frame[frame["status"].isin(["optimal", "time_limit"])].groupby(
            frame["ttft_s"].fillna(-1.0), sort=False):
        label = "no TTFT target" if ttft < 0 else f"TTFT target {ttft:g} s"
        x = group["decode_tokens_per_s_per_user"].astype(float)
        left.plot(x, group["cost_usd"].astype(float) / 1000, marker="o", label=label)
        right.plot(x, group["usd_per_million_output_tokens"].astype(float), marker="o", label=label)
    left.set_ylabel("plan cost, thousand USD per day")
    right.set_ylabel("USD per million output tokens")
    for ax in (left, right):
        ax.set_xlabel("promised decode speed, tokens/s per user")
        ax.grid(alpha=0.3)
    left.legend(fontsize=8)
    fig.suptitle(title)
    save_figure(fig, path)


def display_rows(frame: pd.DataFrame) -> tuple[list[tuple[str, ...]], tuple[str, ...]]:
    """The frontier as printable rows (numbers formatted, '-' for none) and short headers."""
    def cell(column: str, value: Any) -> str:
        if value is None or (isinstance(value, float) and value != value):
            return "-"
        if column in ("cost_usd", "usd_per_day_per_extra_token_per_s"):
            return f"{value:,.0f}"
        if column == "unserved_output_share":
            return f"{100 * value:.2f} %"
        if column == "usd_per_million_output_tokens_per_extra_token_per_s":
            return f"{value:.4f}"
        return f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)

    columns = [c for c in FRONTIER_COLUMNS if c != "note"]
    rows = [tuple(cell(c, getattr(r, c)) for c in columns) for r in frame.itertuples(index=False)]
    return rows, tuple(DISPLAY[c] for c in columns)


def parse_numbers(text: str, option: str) -> list[float | None]:
    """'15,21,30' -> [15.0, 21.0, 30.0]; 'none' stands for no target."""
    values: list[float | None] = []
    for part in text.split(","):
        part = part.strip()
        if part.lower() in ("none", "null", "-"):
            values.append(None)
            continue
        try:
            value = float(part)
        except ValueError:
            raise InputError(option, "", part, "expected numbers separated by commas, or 'none'") from None
        if not np.isfinite(value) or value <= 0:
            raise InputError(option, "", part, "must be a positive number")
        values.append(value)
    return values
