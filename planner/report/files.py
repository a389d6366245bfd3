"""Result files: every file of a plan or a study, each written to a temporary name and renamed."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import Argument, InputError
from ..io.files import write_atomic, write_text_atomic
from ..results.result import PlanResult
from .charts import plan_chart
from .markdown import PLAN_FILES, report_markdown
from .tables import training_rows

SUMMARY_FILES = PLAN_FILES


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def to_json(record: Any) -> str:
    return json.dumps(record, indent=2, default=_json_default) + "\n"


def write_frame(path: Path, frame: pd.DataFrame) -> None:
    write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.6g"))


def write_json(path: Path, record: Any) -> None:
    write_text_atomic(path, to_json(record))


#: Every name a planner command writes into a result folder: a folder holding anything else is not
#: planner's to replace (a user's own files, or the inputs themselves).
RESULT_NAMES = frozenset({*PLAN_FILES, "training.csv", "diagnosis.json", "reproduce.json", "frontier.csv",
                          "frontier.png", "reseller.json", "scale.csv", "scale.png", "slo_share.csv", "margins.json",
                          "waterfall.png", "marginal_cost.csv", "marginal_cost.png", "claims.json", "claims.md",
                          "sim.csv", "sim.json", "sim.png", "cases", "cases.csv", "sweep.png"})

_LOCKS: dict[str, int] = {}  # folder -> open descriptor holding its lock for this process's run


def check_output_folder(out: Path, overwrite: bool, marker: str | None = "summary.json") -> None:
    """Before any work: refuse to write into a file, into a folder that cannot be created or
    written, over a previous result (`marker` present) unless asked to, into a folder holding
    files planner does not write (a user's own, or the inputs), or into a folder another planner
    run is writing (a lock on the folder, held until this process ends). The folder is created
    (empty) here."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(out, Argument("out"), str(out), "exists and is not a folder")
    if out.is_dir():
        foreign = sorted(e.name for e in out.iterdir() if not e.name.startswith(".") and e.name not in RESULT_NAMES)
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise InputError(out, Argument("out"), str(out),
                             f"holds files planner does not write ({shown}); choose a new or empty folder")
    if marker is not None and (out / marker).exists() and not overwrite:
        raise InputError(out, Argument("out"), str(out), "holds a previous result; pass `overwrite` to replace it")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=out, prefix=".probe-")
        probe.close()
    except OSError as exc:
        raise InputError(out, Argument("out"), str(out), f"cannot be written: {exc.strerror}") from None
    _lock(out)


def _lock(out: Path) -> None:
    key = str(out.resolve())
    if key in _LOCKS:
        return
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise InputError(out, Argument("out"), str(out), "another planner run is writing this folder now") from None
    _LOCKS[key] = fd


@contextmanager
def replaced_folder(out: Path) -> Iterator[Path]:
    """A new result built in a temporary sibling folder and renamed into place whole: stopped at
    any point, `out` holds the complete old result or the complete new one, never a mix (a run
    killed between the two renames leaves the old one in `.NAME.old-*` beside it)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        yield staging
        os.chmod(staging, 0o777 & ~_umask())
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / out.name)
        os.replace(staging, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        _unlock(out)


def _unlock(out: Path) -> None:
    fd = _LOCKS.pop(str(Path(out).resolve()), None)
    if fd is not None:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_plan(out: Path, outcome: PlanResult) -> list[Path]:
    """Write every output file of a solved plan, each atomically; summary.json last, as the mark
    of a complete result. Returns the paths written."""
    out = Path(out)
    data, plan = outcome.data, outcome.plan
    paths = [out / name for name in SUMMARY_FILES]
    training = training_rows(data, outcome.result.tables) if "training" in outcome.result.tables else None
    write_frame(paths[1], plan.schedule)
    write_frame(paths[2], outcome.result.tables["units"])
    if training is not None:
        write_frame(out / "training.csv", training)
        paths.append(out / "training.csv")
    plan_chart(paths[3], data, plan, outcome.published_nodes, training)
    summary, timings = outcome.summary_and_timings()
    write_text_atomic(paths[4], report_markdown(outcome, has_training=training is not None))
    write_json(paths[5], timings)
    write_json(paths[0], summary)  # last: its presence marks a complete result
    return paths


def write_diagnosis(out: Path, outcome: PlanResult) -> Path | None:
    """diagnosis.json when the hard limits conflict."""
    if outcome.diagnosis is None:
        return None
    path = Path(out) / "diagnosis.json"
    write_json(path, outcome.diagnosis.as_record())
    return path
