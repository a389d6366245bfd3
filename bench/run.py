"""planner's benchmark suite (never a timed test): generated instances of growing size.

    python -m bench.run --tier quick          # make bench
    python -m bench.run --tier full           # adds the week and year horizons, 200 scenarios

For each instance: model build, hand-off to HiGHS, solver time, whole-process wall time (a
`planner solve --out` subprocess, from process start to files written), its peak memory, the
objective and MIP gap; the same for the LP relaxation; the model written as MPS and solved by
HiGHS alone (the floor for the modelling overhead); and the plan against three simple policies
scored by the same economics code: peak provisioning all day, an hour-by-hour greedy autoscaler,
and the published schedule where the instance names it. Writes results/bench/bench.csv and .md.
"""

from __future__ import annotations

import argparse
import math
import os
import resource  # noqa: F401 - used by the child process
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.api import validate_instance as load_instance  # noqa: E402
from planner.io.reference import load_reference  # noqa: E402
from planner.model.build import build_model  # noqa: E402
from planner.model.contract import export_tables  # noqa: E402
from planner.model.relax import relaxed_integers  # noqa: E402
from planner.model.solve import highs_options, relative_gap, solver_options  # noqa: E402
from planner.physics.published import demand_shape  # noqa: E402
from planner.report.text import text_table  # noqa: E402
from planner.results.economics import evaluate_plan  # noqa: E402
from planner.results.published import compare_with_reference  # noqa: E402
from planner.studies.policies import greedy_allocation, policy_evaluation  # noqa: E402


@dataclass(frozen=True)
class Case:
    periods: int
    node_types: int
    served_models: int
    training: bool
    scenarios: int
    time_limit_s: float = 120.0
    mip_gap: float = 0.005

    @property
    def name(self) -> str:
        return (f"T{self.periods}-g{self.node_types}-m{self.served_models}"
                f"{'-train' if self.training else ''}-s{self.scenarios}")


TIERS = {
    "quick": [Case(24, 1, 1, False, 1), Case(24, 3, 2, True, 1), Case(168, 3, 1, False, 1),
              Case(168, 1, 1, False, 20)],
    "full": [Case(24, 1, 1, False, 1), Case(24, 3, 2, True, 1), Case(168, 3, 1, False, 1),
             Case(168, 4, 3, False, 1), Case(168, 1, 1, False, 20), Case(168, 1, 1, False, 200, 120.0),
             Case(8760, 1, 1, False, 1), Case(8760, 3, 2, True, 1)],
}
NODE_TYPES = [  # name, profile, owned $/GPU-h (or None), rental $/GPU-h (or None): assumptions
    ("h800", "deepseek-v3@h800", 2.0, 2.6),
    ("h100", "deepseek-v3@h100", None, 2.5),
    ("h20", "deepseek-v3@h20", None, 1.0),
    ("h800-spot", "deepseek-v3@h800", None, 1.6),
]
MODELS = [  # name, share of tokens, prices, decode speed, TTFT target
    ("deepseek-chat", 0.4, {"input_cache_hit": 0.07, "input_cache_miss": 0.27, "output": 1.10}, 25, 1.0),
    ("deepseek-reasoner", 0.5, {"input_cache_hit": 0.14, "input_cache_miss": 0.55, "output": 2.19}, 18, 2.0),
    ("deepseek-batch", 0.1, {"input_cache_hit": 0.035, "input_cache_miss": 0.135, "output": 0.55}, 15, None),
]


def generate(case: Case, folder: Path) -> Path:
    """Write the case's instance: the reference day's shape repeated, weekly and daily noise."""
    rng = np.random.default_rng(case.periods * 7 + case.node_types)
    shape = demand_shape(load_reference(ROOT / "reference" / "deepseek-2025-02-28.yaml"))
    days = math.ceil(case.periods / 24)
    daily = np.concatenate([shape * (1 + 0.1 * np.sin(2 * np.pi * d / 7) + rng.normal(0, 0.03)) for d in range(days)])
    weights = daily[: case.periods] / shape.sum()
    rows = []
    for name, share, *_ in MODELS[: case.served_models]:
        for t, w in enumerate(weights):
            inputs = 608e9 * share * w
            rows.append(f"{t},{name},{inputs:.0f},{0.5625 * inputs:.0f},{168e9 * share * w:.0f}")
    (folder / "demand.csv").write_text("period,served_model,input_tokens,input_cache_hit_tokens,output_tokens\n"
                                      + "\n".join(rows) + "\n")
    node_types = {}
    for name, _, owned, rental in NODE_TYPES[: case.node_types]:
        node = {"gpus_per_node": 8}
        if owned is not None:
            node["owned"] = {"usd_per_gpu_hour": owned, "max_nodes": 400}
        if rental is not None:
            node["rental"] = {"usd_per_gpu_hour": rental, "max_nodes": 600}
        node_types[name] = node
    served = {}
    for name, _, prices, speed, ttft in MODELS[: case.served_models]:
        served[name] = {
            "prices_usd_per_million_tokens": prices,
            "slo": {"decode_tokens_per_s_per_user": speed, **({"ttft_s": ttft} if ttft else {})},
            "workload": {"mean_prompt_tokens": 4383},
            "deployments": {g: {"profile": p} for g, p, *_ in NODE_TYPES[: case.node_types]},
        }
    instance = {
        "name": case.name,
        "horizon": {"start": "2025-03-03T00:00:00+08:00", "periods": case.periods, "period_hours": 1.0},
        "demand": {"file": "demand.csv"},
        "node_types": node_types,
        "served_models": served,
        "solver": {"time_limit_s": case.time_limit_s, "mip_gap": case.mip_gap, "threads": os.cpu_count() or 1},
        "profiles_dir": str(ROOT / "models"),
    }
    if case.scenarios > 1:
        instance["scenarios"] = {"count": case.scenarios, "seed": 1, "level_sd": 0.1, "hourly_sd": 0.05,
                                 "burst_probability": 0.02, "burst_scale": 0.5}
    if case.training:
        days_jobs = [{"name": f"night-{d}", "node_type": "h800", "gang_nodes": 32, "length_hours": 4,
                      "earliest_start": f"{(pd.Timestamp('2025-03-03T00:00:00+08:00') + pd.Timedelta(days=d)).isoformat()}",
                      "deadline": f"{(pd.Timestamp('2025-03-03T08:00:00+08:00') + pd.Timedelta(days=d)).isoformat()}",
                      "value_usd": 3072} for d in range(days)]
        instance["training"] = {"granule_nodes": 4, "switching": {"minutes": 20},
                                "jobs": days_jobs,
                                "harvest": {"h800": {"usd_per_node_hour": 16, "min_window_hours": 3, "max_nodes": 200}}}
    path = folder / "instance.yaml"
    path.write_text(yaml.safe_dump(instance, sort_keys=False))
    return path


def timed_solve(data, relax: bool) -> dict:
    """Build, hand off and solve in this process; the LP relaxation when `relax`."""
    import contextlib

    import highspy
    from pyomo.contrib.solver.common.factory import SolverFactory

    options = solver_options(data)
    started = time.perf_counter()
    built = build_model(data)
    model = built.model
    build_s = time.perf_counter() - started
    highspy.Highs.resetThreadScheduler(False)  # as planner solves do: thread counts differ between cases
    with relaxed_integers(model) if relax else contextlib.nullcontext():
        results = SolverFactory("highs").solve(model, load_solutions=False, raise_exception_on_nonoptimal_result=False,
                                               **highs_options(options, data))
    wall = float(results.timing_info.wall_time)
    highs = float(getattr(results.timing_info, "highs_time", wall))
    objective, bound = results.incumbent_objective, results.objective_bound
    out = {"build_s": build_s, "handoff_s": wall - highs, "solve_s": highs, "objective": objective,
           "gap": relative_gap(objective, bound), "status": results.termination_condition.name}
    if not relax and objective is not None:
        results.solution_loader.load_vars()
        out["tables"] = export_tables(built.families, model, data)
    out["model"] = model
    return out


def mps_floor(model, folder: Path, options) -> dict:
    """Write the model as MPS, then HiGHS alone reads and solves it."""
    import highspy

    path = folder / "model.mps"
    started = time.perf_counter()
    model.write(str(path), io_options={"symbolic_solver_labels": False})
    write_s = time.perf_counter() - started
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", options.time_limit_s)
    highs.setOptionValue("mip_rel_gap", options.mip_gap)
    started = time.perf_counter()
    highs.readModel(str(path))
    read_s = time.perf_counter() - started
    highs.run()
    return {"mps_write_s": write_s, "mps_read_s": read_s, "mps_solve_s": highs.getRunTime()}


# The child's own peak: VmHWM of /proc/self/status (ru_maxrss would carry the benchmark
# process's own peak across fork and exec). `planner.cli.run` ends with os._exit once the files
# are written (docs/performance.md); the child runs the same command through main() and records
# the clock and its peak there, before the interpreter's teardown.
_CHILD = ("import sys, time\n"
          "memory = sys.argv.pop(1)\n"
          "from planner.cli import main\n"
          "try:\n"
          "    main(sys.argv[1:], standalone_mode=False)\n"
          "finally:\n"
          "    line = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
          "    open(memory, 'w').write(f'{line.split()[1]} {time.time()}')\n")


def process_wall(instance: Path, out: Path) -> tuple[float, float]:
    """`planner solve --out` as its own process: seconds from its start to its files written, and
    its own peak memory (MiB)."""
    memory = out.with_suffix(".maxrss")
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    subprocess.run([sys.executable, "-c", _CHILD, str(memory), "solve", str(instance), "--out", str(out),
                    "--overwrite"], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    if not memory.exists():
        return float("nan"), float("nan")
    peak_kib, finished = memory.read_text().split()
    return float(finished) - started, int(peak_kib) / 1024.0


def policy_cost(data, allocation: pd.DataFrame, peak: bool) -> float:
    return policy_evaluation(data, allocation, peak).totals.cost_usd.total


def run_case(case: Case, folder: Path) -> dict:
    instance = generate(case, folder)
    data = load_instance(instance)
    row = {"case": case.name, **{k: v for k, v in asdict(case).items() if k not in ("time_limit_s",)}}
    mip = timed_solve(data, relax=False)
    lp = timed_solve(data, relax=True)
    row.update({"build_s": mip["build_s"], "handoff_s": mip["handoff_s"], "solve_s": mip["solve_s"],
                "objective": mip["objective"], "gap": mip["gap"], "status": mip["status"],
                "overhead_ratio": (mip["build_s"] + mip["handoff_s"]) / max(mip["solve_s"], 1e-9),
                "lp_build_s": lp["build_s"], "lp_solve_s": lp["solve_s"], "lp_objective": lp["objective"]})
    row.update(mps_floor(mip["model"], folder, solver_options(data)))
    row["process_wall_s"], row["peak_memory_mib"] = process_wall(instance, folder / "out")
    if "tables" in mip:
        plan = evaluate_plan(data, mip["tables"])
        # net of the training the plan fits in (the policies train nothing)
        cost = plan.totals.cost_usd.total - (plan.totals.training.value_usd if plan.totals.training else 0.0)
        greedy = greedy_allocation(data)
        row.update({"plan_cost_usd": cost, "greedy_cost_usd": policy_cost(data, greedy, peak=False),
                    "peak_cost_usd": policy_cost(data, greedy, peak=True)})
        row["saving_vs_greedy"] = 1 - cost / row["greedy_cost_usd"]
        row["saving_vs_peak"] = 1 - cost / row["peak_cost_usd"]
    return row


def reference_row(folder: Path) -> dict:
    """The shipped reference day: process wall time and the published schedule as a policy."""
    instance = ROOT / "instances" / "deepseek-2025-02-28.yaml"
    data = load_instance(instance)
    wall, peak = process_wall(instance, folder / "reference")
    mip = timed_solve(data, relax=False)
    plan = evaluate_plan(data, mip["tables"])
    published = compare_with_reference(data).evaluation.totals.cost_usd.total
    greedy = greedy_allocation(data)
    return {"case": "reference-day", "periods": 24, "node_types": 1, "served_models": 1, "training": False,
            "scenarios": 1, "build_s": mip["build_s"], "handoff_s": mip["handoff_s"], "solve_s": mip["solve_s"],
            "objective": mip["objective"], "gap": mip["gap"], "status": mip["status"],
            "process_wall_s": wall, "peak_memory_mib": peak,
            "plan_cost_usd": plan.totals.cost_usd.total, "published_cost_usd": published,
            "greedy_cost_usd": policy_cost(data, greedy, peak=False), "peak_cost_usd": policy_cost(data, greedy, True),
            "saving_vs_published": 1 - plan.totals.cost_usd.total / published}


COLUMNS = ["case", "build_s", "handoff_s", "solve_s", "overhead_ratio", "mps_solve_s", "process_wall_s",
           "peak_memory_mib", "gap", "lp_solve_s", "objective", "lp_objective", "saving_vs_greedy", "saving_vs_peak",
           "saving_vs_published"]


def markdown(table: pd.DataFrame) -> str:
    shown = table[[c for c in COLUMNS if c in table.columns]]
    rows = [tuple("-" if v is None or (isinstance(v, float) and v != v) else
                  (f"{100 * v:.2f} %" if c.startswith("saving") or c == "gap" else
                   f"{v:,.0f}" if isinstance(v, float) and abs(v) >= 1000 else
                   f"{v:.3g}" if isinstance(v, float) else str(v)) for c, v in zip(shown.columns, row))
            for row in shown.itertuples(index=False)]
    return text_table(rows, tuple(shown.columns))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", choices=sorted(TIERS), default="quick")
    parser.add_argument("--only", help="run only the case with this name")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(reference_row(Path(tmp)))
        for case in TIERS[args.tier]:
            if args.only and case.name != args.only:
                continue
            folder = Path(tmp) / case.name
            folder.mkdir()
            rows.append(run_case(case, folder))
            print(f"{case.name}: {rows[-1]['status']}, solve {rows[-1]['solve_s']:.2f} s, "
                  f"process {rows[-1]['process_wall_s']:.2f} s", file=sys.stderr)
    table = pd.DataFrame(rows)
    table.to_csv(args.out / f"bench-{args.tier}.csv", index=False)
    text = markdown(table)
    (args.out / f"bench-{args.tier}.md").write_text(
        f"`python -m bench.run --tier {args.tier}` on {os.cpu_count()} cores\n\n```\n{text}\n```\n")
    print(text)
    print(f"\nwritten to {args.out}/bench-{args.tier}.csv and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
