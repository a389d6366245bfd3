"""`planner simulate`'s outputs: sim.csv (per period), sim.json (the horizon), sim.png (beside the
plan's promise) and the printed table."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..studies.simulate import Simulation
from .charts import pyplot, save_figure
from .files import write_frame, write_json
from .text import text_table

SIMULATION_FILES = ("sim.csv", "sim.png", "sim.json")  # sim.json last: the mark of a complete replay


def write_simulation(out: Path, sim: Simulation, title: str) -> list[Path]:
    """Each file atomically, sim.json last."""
    out = Path(out)
    paths = [out / name for name in SIMULATION_FILES]
    write_frame(paths[0], sim.periods)
    simulation_chart(paths[1], sim, title)
    write_json(paths[2], sim.record)
    return paths


def _seconds(x) -> str:
    return "-" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.3f}"


def _share(x) -> str:
    return "-" if x is None else f"{100 * x:.2f} %"


def simulation_text(sim: Simulation) -> str:
    """Per served model: the simulated figures beside what the plan promised."""
    record = sim.record
    sampling = record["sampling"]
    how = ("whole periods" if sampling["whole_periods"]
           else f"a {sampling['window_s']:g} s window in the middle of each period after {sampling['warmup_s']:g} s "
                "of warm-up")
    lines = [f"simulated {record['traffic']} traffic, {how}, scenario {record['scenario']}"
             + (", with node failures" if sampling["failures"] else "")]
    if record.get("trace_requests_after_the_horizon"):
        lines.append(f"note: {record['trace_requests_after_the_horizon']:,} requests of the trace come after the "
                     "plan's last period and are not replayed")
    for m, r in record["served_models"].items():
        promise = r["promise"]
        rows = [
            ("requests simulated", f"{r['requests_simulated']:,}", ""),
            ("TTFT p50 / p95 / p99 (s)", " / ".join(_seconds(r["ttft_s"][k]) for k in ("p50", "p95", "p99")),
             "-" if promise["ttft_s"] is None else f"p{promise['ttft_percentile'] * 100:g} <= {promise['ttft_s']:g}"),
            ("TPOT p50 / p95 / p99 (s)", " / ".join(_seconds(r["tpot_s"][k]) for k in ("p50", "p95", "p99")),
             "-" if promise["tpot_s"] is None else f"{promise['tpot_basis']} <= {promise['tpot_s']:.4f}"),
            ("requests meeting the TTFT target", _share(r["ttft_attainment"]),
             "-" if promise["ttft_percentile"] is None else _share(promise["ttft_percentile"])),
            ("requests meeting TTFT and TPOT", _share(r["slo_attainment"]), ""),
            ("periods below the TTFT promise", str(len(r["periods_below_ttft_promise"])), ""),
            ("waited past the limit / unfinished", f"{r['waited_past_limit']:,} / {r['unfinished']:,}", ""),
            ("node failures in the windows", f"{r['failures']:,}",
             "" if r["failures_expected_over_horizon"] is None
             else f"{r['failures_expected_over_horizon']:.2f} expected over the horizon"),
        ]
        lines += ["", m, text_table(rows, ("", "simulated", "promised"))]
    return "\n".join(lines)


def simulation_chart(path: Path, sim: Simulation, title: str) -> None:
    """Per served model: TTFT p95 per period (simulated with its 95 % interval, the plan's analytic
    p95, the target) and the share of requests meeting the target against the promised share."""
    plt = pyplot()
    models = list(sim.record["served_models"])
    fig, axes = plt.subplots(len(models), 2, figsize=(11, 3.8 * len(models)), dpi=110, squeeze=False)
    for (left, right), m in zip(axes, models):
        rows = sim.periods[sim.periods["served_model"] == m]
        x = rows["period"].to_numpy()
        p95 = rows["ttft_p95_s"].astype(float).to_numpy()
        ci = rows["ttft_p95_ci_s"].astype(float).fillna(0.0).to_numpy()
        left.errorbar(x, p95, yerr=ci, marker="o", ms=3, capsize=2, label="simulated p95")
        if rows["ttft_analytic_s"].notna().any():
            left.plot(x, rows["ttft_analytic_s"].astype(float), ls="--", label="analytic p95 (the plan's streams)")
        promise = sim.record["served_models"][m]["promise"]
        if promise["ttft_s"] is not None:
            left.axhline(promise["ttft_s"], color="tab:red", lw=1, label=f"target {promise['ttft_s']:g} s")
        left.set_ylabel("TTFT, s")
        left.set_title(f"{m}: time to first token", fontsize=9)
        right.plot(x, 100 * rows["ttft_attainment"].astype(float), marker="o", ms=3, label="TTFT met")
        right.plot(x, 100 * rows["slo_attainment"].astype(float), marker="s", ms=3, label="TTFT and TPOT met")
        if promise["ttft_percentile"] is not None:
            right.axhline(100 * promise["ttft_percentile"], color="tab:red", lw=1,
                          label=f"promised {100 * promise['ttft_percentile']:g} %")
        right.set_ylabel("requests, %")
        right.set_title(f"{m}: share meeting the SLO", fontsize=9)
        for ax in (left, right):
            ax.set_xlabel("period")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
    fig.suptitle(title)
    save_figure(fig, path)
