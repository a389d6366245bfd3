"""Clock maths: period start times, daily clock windows and where a moment falls on the horizon.

Clock windows are read on the local clock: the horizon's IANA time zone (`horizon.time_zone`,
daylight-saving changes included), or else the fixed UTC offset of `horizon.start`. A window
whose end is not after its start runs past midnight. A period is placed on the clock by its
local start: it covers [local start, local start + Δ) of wall-clock time (on a day the clocks
change, the hour that is skipped or repeated is counted as the wall clock shows it).
"""

from __future__ import annotations

import datetime as dt
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError

MINUTES_PER_DAY = 24 * 60


def period_starts(start: str, periods: int, period_hours: float, time_zone: str | None = None) -> pd.DatetimeIndex:
    """The start of every period, from an ISO 8601 date-time with a UTC offset, on the local
    clock of `time_zone` (an IANA name) or else of that offset. Periods are Δ hours of elapsed
    time, whatever the clock does."""
    first = pd.Timestamp(dt.datetime.fromisoformat(start))
    if time_zone is not None:
        first = first.tz_convert(time_zone)
    return pd.date_range(first, periods=periods, freq=pd.Timedelta(hours=period_hours))


def minutes(clock: str) -> int:
    """'HH:MM' -> minutes after midnight."""
    hours, mins = clock.split(":")
    return int(hours) * 60 + int(mins)


def _bounds(start: str, end: str) -> tuple[int, int]:
    lo = minutes(start)
    hi = minutes(end) if minutes(end) > lo else minutes(end) + MINUTES_PER_DAY
    return lo, hi


def window_share(starts: pd.DatetimeIndex, period_hours: float, start: str, end: str) -> np.ndarray:
    """Share of each period that falls in a daily clock window [start, end) (local clock of `starts`).

    A window whose end is not after its start runs past midnight (00:30-08:30 does not; 22:00-06:00
    does); one whose end equals its start covers the whole day.
    """
    lo, hi = _bounds(start, end)
    length = period_hours * 60.0
    a = np.asarray(starts.hour * 60.0 + starts.minute + starts.second / 60.0)  # wall-clock minutes after midnight
    b = a + length
    overlap = np.zeros(len(starts))
    for day in range(-1, int(np.ceil(b.max() / MINUTES_PER_DAY)) + 1):
        overlap += np.clip(np.minimum(b, day * MINUTES_PER_DAY + hi) - np.maximum(a, day * MINUTES_PER_DAY + lo), 0, None)
    return overlap / length


def daily_minutes(start: str, end: str) -> np.ndarray:
    """Minutes of the day (0..1439) that a daily window [start, end) covers, as window_share reads it."""
    lo, hi = _bounds(start, end)
    return np.arange(lo, hi) % MINUTES_PER_DAY


def check_windows_apart(windows: Sequence, file: str, field: str) -> None:
    """Clock windows (with .name, .start, .end) must not share a minute of the clock, on any day."""
    owner = np.full(MINUTES_PER_DAY, -1)
    for i, window in enumerate(windows):
        covered = daily_minutes(window.start, window.end)
        taken = covered[owner[covered] >= 0]
        if len(taken):
            earlier = windows[owner[taken[0]]]
            raise InputError(file, f"{field}.{i}", window.name,
                             f"overlaps price window {earlier.name!r} ({earlier.start}-{earlier.end}) "
                             f"from {taken[0] // 60:02d}:{taken[0] % 60:02d}")
        owner[covered] = i


def period_at(moment: str, starts: pd.DatetimeIndex, period_hours: float) -> float:
    """Fractional period index of an ISO date-time on the horizon (0 = horizon start)."""
    offset = pd.Timestamp(dt.datetime.fromisoformat(moment)) - starts[0]
    return offset.total_seconds() / 3600.0 / period_hours
