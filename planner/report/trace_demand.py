"""The files of `planner demand from-trace` and its printed summary.

DEMAND.csv (the instance's demand table, `#` lines on top) and, beside it, `<stem>.stats.csv`,
`<stem>.trace.json` and `<stem>.prompts.csv`; written as one set once the whole trace has been read
and checked: all four to temporary files first, then renamed into place (the summary last), so
that a failed write replaces none of a previous run's files.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from tabulate import tabulate

from ..errors import Argument, InputError
from ..io.files import write_files_atomic
from ..io.traces import bad_rows_text
from ..studies.trace_demand import TraceDemand

# Light on purpose: report.files and report.text import the model (pyomo, a second's start-up).

def trace_output_paths(out: Path) -> dict[str, Path]:
    """The four files, named after `out`: demand, stats, summary (JSON) and prompts."""
    out = Path(out)
    stem = out.stem if out.suffix else out.name
    return {"demand": out, "stats": out.with_name(f"{stem}.stats.csv"),
            "summary": out.with_name(f"{stem}.trace.json"), "prompts": out.with_name(f"{stem}.prompts.csv")}


def check_trace_outputs(out: Path, overwrite: bool) -> dict[str, Path]:
    """Before reading the trace: refuse a folder as `out`, a place where no file can be written (a
    file in the way of its folder, a folder that takes no new file), and files already there unless
    `overwrite`."""
    paths = trace_output_paths(out)
    if Path(out).is_dir():
        raise InputError(Argument("out"), "", str(out), "is a folder; give the demand CSV's file name")
    _check_folder(Path(out))
    for path in paths.values():
        if path.is_dir():
            raise InputError(Argument("out"), "", str(path), "is a folder, where a file of the set goes")
    if not overwrite:
        for path in paths.values():
            if path.exists():
                raise InputError(Argument("out"), "", str(path), "exists; pass `overwrite` to replace it")
    return paths


def _check_folder(out: Path) -> None:
    """The folder of `out` (or the nearest existing one above it, where the missing ones would be
    made) must be a folder that takes a new file: tried with a temporary file, removed at once."""
    folder = out.parent
    try:
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            raise InputError(Argument("out"), "", str(out), f"{folder} is a file, not a folder")
        if folder == out.parent:
            fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=folder)
            os.close(fd)
            os.unlink(name)
        else:
            os.rmdir(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=folder))
    except OSError as exc:
        raise InputError(Argument("out"), "", str(out),
                         f"cannot write in the folder {folder} ({exc.strerror or exc})") from None


def write_trace_demand(paths: dict[str, Path], result: TraceDemand) -> list[Path]:
    """Write the four files as one set (io.files.write_files_atomic: all to temporary files, then
    renamed, the summary last); returns their paths. An InputError names a file that cannot be
    written; nothing is then replaced."""
    summary = dict(result.summary)
    summary["files"] = {key: path.name for key, path in paths.items()}
    summary_text = json.dumps(_plain(summary), indent=2, ensure_ascii=False) + "\n"
    text = "\n".join(result.header) + "\n" + result.demand.to_csv(index=False)
    write_files_atomic([
        (paths["prompts"], lambda tmp: result.prompts.to_csv(tmp, index=False)),
        (paths["stats"], lambda tmp: result.stats.to_csv(tmp, index=False, float_format="%.6g")),
        (paths["demand"], lambda tmp: tmp.write_text(text, encoding="utf-8")),
        (paths["summary"], lambda tmp: tmp.write_text(summary_text, encoding="utf-8"))])
    return [paths["demand"], paths["stats"], paths["summary"], paths["prompts"]]


def trace_demand_text(result: TraceDemand, written: list[Path]) -> str:
    """The printed summary: what was read, what was written."""
    s = result.summary
    totals, written_totals = s["totals"], s["written_totals"]
    peak = s["peak_to_mean_ratio"]
    rows = [("requests", f"{s['requests']:,}", f"of {s['rows']:,} rows read"),
            ("bad rows skipped", f"{s['bad_rows_total']:,}", "by reason below" if s["bad_rows"] else "")]
    if s["left_out"]:
        rows.append(("other served models", f"{s['left_out']['requests']:,}", "left out"))
    for column in ("input_tokens", "input_cache_hit_tokens", "output_tokens"):
        same = written_totals[column] == totals[column]
        rows.append((column, f"{totals[column]:,}", "written as is" if same else f"written {written_totals[column]:,}"))
    rows += [("periods", f"{s['periods']:,}", f"of {s['period_minutes']:g} min, {len(s['served_models'])} served "
                                                f"model(s)"),
             ("mean prompt / output", f"{s['prompt_tokens']['mean']:,.1f} / {s['output_tokens']['mean']:,.1f}",
              "tokens per request"),
             ("largest peak-to-mean", "-" if peak is None else f"{peak['max']:.3f}",
              "" if peak is None else f"period {peak['period']}, {s['window_s']:g} s windows")]
    if s["scaling"] is not None:
        rows.append(("scale factor", f"{s['scaling']['factor']:.6g}",
                     f"to {s['scaling']['output_tokens_per_day']:.6g} output tokens/day"))
    if s["shape"] is not None:
        rows.append(("shape factor", f"{s['shape']['factor']:.6g}", f"{s['shape']['periods']} periods of the shape"))
    table = tabulate(rows, headers=("trace", "value", "note"), tablefmt="simple", colalign=("left", "right", "left"),
                     disable_numparse=True)
    bad = f"bad rows skipped: {bad_rows_text(s['bad_rows'])}\n" if s["bad_rows"] else ""
    return (f"{s['source']} ({s['format']}), from {s['start']} to {s['end']}\n{table}\n{bad}"
            f"wrote {', '.join(str(p) for p in written)}")


def _plain(value: Any) -> Any:
    """JSON values: numpy scalars as Python numbers, NaN as null."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
