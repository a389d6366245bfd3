"""The reference day end to end against the imports it cannot avoid (never a timed test).

    python -m bench.startup [--runs 7]

Runs, alternately and each as a fresh process, `planner solve instances/deepseek-2025-02-28.yaml
--out DIR --overwrite` and `python -c "import pyomo.environ, highspy, pandas, numpy,
matplotlib.pyplot"`, and prints the median wall time of each and their ratio. The goal
(docs/performance.md): the ratio at most 1.3.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMPORTS = "import pyomo.environ, highspy, pandas, numpy, matplotlib.pyplot"


def wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    planner = str(Path(sys.executable).with_name("planner"))
    with tempfile.TemporaryDirectory() as out:
        solve = [planner, "solve", "instances/deepseek-2025-02-28.yaml", "--out", out, "--overwrite"]
        imports = [sys.executable, "-c", IMPORTS]
        wall(solve), wall(imports)  # warm the file cache
        times = {"solve": [], "imports": []}
        for _ in range(args.runs):
            times["solve"].append(wall(solve))
            times["imports"].append(wall(imports))
    solve_s, imports_s = statistics.median(times["solve"]), statistics.median(times["imports"])
    print(f"planner solve (reference day, --out): median {solve_s:.2f} s of {args.runs}")
    print(f"python -c '{IMPORTS}': median {imports_s:.2f} s")
    print(f"ratio {solve_s / imports_s:.2f} (goal: at most 1.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
