"""Reading a published day (reference/): its figures, its node steps and its hourly income.

Source of every figure: DeepSeek, "DeepSeek-V3 / R1 Inference System Overview", 1 March 2025
(deepseek-ai/open-infra-index), and its two charts; reference/*.yaml names them field by field.
What follows from them (the role split, the calibration, the published arithmetic) is computed
in planner/physics/published.py.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import NO_VALUE, InputError
from .files import read_text, read_yaml_mapping
from .schema.published import PublishedClaim, PublishedDay
from .validation import validate


@dataclass(frozen=True)
class Reference:
    """The published figures (YAML), node steps and hourly income/cost (CSVs beside it)."""

    path: Path
    figures: dict[str, Any]
    steps: pd.DataFrame  # from, to, nodes (local clock)
    hourly: pd.DataFrame  # hour_start, theoretical_income_kusd, cost_usd

    @property
    def gpus_per_node(self) -> int:
        return int(self.figures["hardware"]["gpus_per_node"])

    @property
    def usd_per_gpu_hour(self) -> float:
        return float(self.figures["hardware"]["rental_usd_per_gpu_hour"])

    @property
    def clock(self) -> dt.tzinfo:
        """The zone its node steps and hourly bars are read in: `window.time_zone` (IANA) when the
        file gives one, else the fixed UTC offset of `window.start` (+08:00, Beijing time, on
        the reference day: China keeps no daylight-saving time)."""
        window = self.figures.get("window") or {}
        if window.get("time_zone"):
            import zoneinfo

            return zoneinfo.ZoneInfo(window["time_zone"])
        return dt.datetime.fromisoformat(str(window["start"])).tzinfo


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(io.StringIO(read_text(path)), comment="#", dtype={"from": str, "to": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, "", NO_VALUE, f"not a readable CSV table: {exc}") from None


def _checked_csv(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    """A reference table with the named columns: 'clock' (HH:MM) or 'number' (finite, >= 0)."""
    frame = _read_csv(path)
    for column, kind in columns.items():
        if column not in frame.columns:
            raise InputError(path, "header", column, "required column is missing")
        values = frame[column]
        if kind == "number":
            numbers = pd.to_numeric(values, errors="coerce")
            bad = ~np.isfinite(numbers.to_numpy(dtype=float)) | (numbers < 0).to_numpy()
        else:
            bad = ~values.astype(str).str.fullmatch(r"([01]\d|2[0-3]):[0-5]\d|24:00").to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(path, f"data row {i + 1}, {column}", values.iloc[i],
                             "must be a number >= 0" if kind == "number" else "must be a clock time HH:MM")
    if frame.empty:
        raise InputError(path, "(rows)", NO_VALUE, "the table has no rows")
    return frame


def load_reference(path: str | Path) -> Reference:
    """Load NAME.yaml with NAME-nodes.csv and NAME-hourly.csv beside it, checking what is read."""
    path = Path(path)
    stem = path.with_suffix("")
    figures = read_yaml_mapping(path)
    validate(PublishedDay, figures, str(path))
    return Reference(
        path=path,
        figures=figures,
        steps=_checked_csv(Path(f"{stem}-nodes.csv"), {"from": "clock", "to": "clock", "nodes": "number"}),
        hourly=_checked_csv(Path(f"{stem}-hourly.csv"), {"theoretical_income_kusd": "number", "cost_usd": "number"}),
    )


def load_claim(path: str | Path) -> PublishedClaim:
    """A published claim (reference/*-claim*.yaml): a figure and its sources."""
    path = Path(path)
    return validate(PublishedClaim, read_yaml_mapping(path), str(path))
