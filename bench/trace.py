"""Benchmark of `planner demand from-trace` on a large synthetic request log (never a timed test).

    python -m bench.trace                 # ~1 GB generic trace (about 22 million requests)
    python -m bench.trace --size-mb 200   # a smaller one

Writes a generic trace (`timestamp,input_tokens,output_tokens,cached_input_tokens,served_model`,
ISO timestamps with microseconds, Poisson arrivals over one day, lognormal lengths, two served
models) to a temporary folder, streamed to disk a chunk at a time, then runs
`planner demand from-trace` on it in a child process and reports the child's wall time and peak
memory: VmHWM of the child's /proc/self/status, read by the child itself before it exits (as
bench/run.py does), and `resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`, which on Linux also
counts the pages the child inherited from this process at fork (so it is at least this
process's size then).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .child import run_planner


def write_trace(path: Path, size_mb: float, seed: int = 1, rows_per_chunk: int = 500_000) -> tuple[int, float]:
    """A synthetic generic trace of about `size_mb` MB; returns (rows, seconds spent writing)."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    target = size_mb * 1e6
    bytes_per_row = 52.0  # measured on the first chunk, then refined
    rows = int(target / bytes_per_row)
    rate = rows / 86_400.0  # one day of arrivals
    clock = np.datetime64("2024-05-01T00:00:00", "us")
    elapsed_us = 0.0
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("timestamp,input_tokens,output_tokens,cached_input_tokens,served_model\n")
        while handle.tell() < target:
            n = rows_per_chunk
            gaps = rng.exponential(1e6 / rate, n)
            times = elapsed_us + np.cumsum(gaps)
            elapsed_us = float(times[-1])
            stamps = np.datetime_as_string(clock + times.astype("timedelta64[us]"), unit="us")
            prompts = np.maximum(1, rng.lognormal(7.0, 1.1, n)).astype(np.int64)
            outputs = rng.lognormal(4.5, 1.0, n).astype(np.int64)
            cached = np.where(rng.random(n) < 0.5, (prompts * rng.random(n)).astype(np.int64), 0)
            models = np.where(rng.random(n) < 0.7, "chat", "reasoner")
            frame = pd.DataFrame({"timestamp": stamps, "input_tokens": prompts, "output_tokens": outputs,
                                  "cached_input_tokens": cached, "served_model": models})
            frame.to_csv(handle, header=False, index=False)
            written += n
    return written, time.perf_counter() - started


def run_from_trace(trace: Path, out: Path, extra: list[str]) -> dict[str, float]:
    result = run_planner(["demand", "from-trace", str(trace), "--out", str(out), "--overwrite", *extra],
                         out.with_suffix(".maxrss"))
    result["ru_maxrss_children_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=1000.0, help="Size of the synthetic trace (default 1000).")
    parser.add_argument("--chunk-rows", type=int, default=1_000_000, help="--chunk-rows of from-trace.")
    parser.add_argument("--period-minutes", type=float, default=60.0)
    parser.add_argument("--keep", type=Path, default=None, help="A folder to keep the trace and outputs in.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="planner-trace-bench-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        trace = folder / "trace.csv"
        rows, write_s = write_trace(trace, args.size_mb)
        size = trace.stat().st_size / 1e6
        print(f"wrote {trace}: {size:,.0f} MB, {rows:,} requests in {write_s:.1f} s")
        result = run_from_trace(trace, folder / "demand.csv",
                                ["--chunk-rows", str(args.chunk_rows), "--period-minutes", str(args.period_minutes)])
        print(result.pop("printed"))
        print(f"from-trace: {result['wall_s']:.1f} s wall ({rows / result['wall_s'] / 1e6:.2f} M requests/s, "
              f"{size / result['wall_s']:.0f} MB/s); peak memory {result['vmhwm_mib']:,.0f} MiB (VmHWM), "
              f"ru_maxrss of children {result['ru_maxrss_children_mib']:,.0f} MiB")


if __name__ == "__main__":
    main()
