"""Benchmark of `planner simulate` (never a timed test): the goals of docs/performance.md, the
reference day and the reseller day checked in at most 60 s each on a 2-core machine.

    python -m bench.simulate            # both days, default sampling (60 s windows), synthetic traffic
    python -m bench.simulate --failures # with node failures at the instances' rates

Each day is solved first (not timed), then `planner simulate` runs in a child process
(bench/child.py: wall time and peak memory).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from .child import ROOT, run_planner

DAYS = {"reference": "instances/deepseek-2025-02-28.yaml", "reseller": "instances/reseller.yaml"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failures", action="store_true")
    parser.add_argument("--window-s", type=float, default=None)
    args = parser.parse_args(argv)
    extra = (["--failures"] if args.failures else []) + ([] if args.window_s is None else ["--window-s", str(args.window_s)])
    rows = []
    with tempfile.TemporaryDirectory(prefix="planner-sim-bench-") as scratch:
        for name, instance in DAYS.items():
            plan = Path(scratch) / name
            run_planner(["solve", str(ROOT / instance), "--out", str(plan)], Path(scratch) / f"{name}.solve")
            result = run_planner(["simulate", str(plan), *extra], Path(scratch) / f"{name}.sim")
            record = json.loads((plan / "sim.json").read_text())
            requests = sum(m["requests_simulated"] for m in record["served_models"].values())
            rows.append(f"| {name} | {requests:,} | {record['sampling']['window_s']:g} s | "
                        f"{result['wall_s']:.1f} s | {result['vmhwm_mib']:,.0f} MiB |")
    print("| day | requests simulated | window per period | wall | peak memory |")
    print("|---|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
