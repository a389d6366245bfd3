"""A plan's result folder read back (`planner simulate RESULT_DIR`): summary.json and allocation.csv."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import NO_VALUE, InputError
from .files import read_text

ALLOCATION_COLUMNS = ("served_model", "node_type", "role", "period", "units", "nodes")


@dataclass(frozen=True)
class PlanFolder:
    """What `planner solve --out DIR` wrote, as far as a replay needs it."""

    folder: Path
    summary: dict[str, Any]
    allocation: pd.DataFrame  # served_model, node_type, role, period, units, nodes

    @property
    def instance_source(self) -> str:
        return str(self.summary.get("source", ""))


def read_plan_folder(folder: Path) -> PlanFolder:
    """Read and check a result folder; InputError names the file, the field and the value."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "RESULT_DIR", str(folder), "is not a folder (give the --out folder of planner solve)")
    summary_path, allocation_path = folder / "summary.json", folder / "allocation.csv"
    for path in (summary_path, allocation_path):
        if not path.is_file():
            raise InputError(path, "(file)", NO_VALUE, "missing: the folder holds no complete plan "
                             "(planner solve --out writes summary.json last)")
    try:
        summary = json.loads(read_text(summary_path))
    except json.JSONDecodeError as exc:
        raise InputError(summary_path, f"line {exc.lineno}", NO_VALUE, f"not JSON: {exc.msg}") from None
    if not isinstance(summary, dict) or "periods" not in summary:
        raise InputError(summary_path, "periods", NO_VALUE, "not a plan's summary.json")
    if summary.get("status") == "no_plan":
        raise InputError(summary_path, "status", "no_plan", "the folder holds no plan to simulate")
    try:
        allocation = pd.read_csv(io.StringIO(read_text(allocation_path)), dtype=str, keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise InputError(allocation_path, "", NO_VALUE, f"not a readable CSV table: {str(exc).splitlines()[0]}") \
            from None
    missing = [c for c in ALLOCATION_COLUMNS if c not in allocation.columns]
    if missing:
        raise InputError(allocation_path, "header", missing[0], "required column is missing")
    for column in ("period", "units", "nodes"):
        values = pd.to_numeric(allocation[column], errors="coerce")
        bad = values.isna() | (values < 0) | (values != values.round())
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise InputError(allocation_path, f"data row {i + 1}, {column}", allocation[column].iloc[i],
                             "must be a whole number >= 0")
        allocation[column] = values.astype(int)
    return PlanFolder(folder, summary, allocation)
