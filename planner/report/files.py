"""Result files: every file of a plan or a study, each written to a temporary name and renamed."""

from __future__ import annotations

import json
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


def check_output_folder(out: Path, overwrite: bool, marker: str | None = "summary.json") -> None:
    """Before any work: refuse to write into a file, into a folder that cannot be created, or over a
    previous result (`marker` present) unless asked to. The folder is created (empty) here."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(out, Argument("out"), str(out), "exists and is not a folder")
    if marker is not None and (out / marker).exists() and not overwrite:
        raise InputError(out, Argument("out"), str(out), "holds a previous result; pass `overwrite` to replace it")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(out, Argument("out"), str(out), f"cannot be created: {exc.strerror}") from None


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
