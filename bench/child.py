"""Run one `planner` command in a child process and measure it: wall time from launch to the
child's last line, and its peak memory (VmHWM of /proc/self/status, read by the child itself
before it exits; `ru_maxrss` of children would also count the pages inherited at fork)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = ("import sys, time\n"
          "memory = sys.argv.pop(1)\n"
          "from planner.cli import main\n"
          "try:\n"
          "    code = main(sys.argv[1:], standalone_mode=False)\n"
          "finally:\n"
          "    line = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
          "    open(memory, 'w').write(line.split()[1] + ' ' + repr(time.time()))\n"
          "sys.exit(code if isinstance(code, int) else 0)\n")


def run_planner(args: list[str], memory: Path) -> dict[str, float | str]:
    """`planner ARGS` in a child; wall_s (launch to the child's end), process_s, vmhwm_mib, printed."""
    started = time.time()
    completed = subprocess.run([sys.executable, "-c", _CHILD, str(memory), *args], cwd=ROOT, capture_output=True,
                               text=True)
    process = time.time() - started
    if completed.returncode != 0:
        raise SystemExit(f"planner {args[0]} failed ({completed.returncode}): {completed.stderr.strip()}")
    peak_kib, finished = memory.read_text().split()
    return {"wall_s": float(finished) - started, "process_s": process, "vmhwm_mib": int(peak_kib) / 1024,
            "printed": completed.stdout}
