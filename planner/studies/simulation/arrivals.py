"""The requests of one simulated window: drawn from the workload (Poisson arrivals at the period's
mean rate, prompt lengths from its shape, outputs geometric with the period's mean), or a
trace's own requests in the window."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ...physics.slo import PromptShape


@dataclass(frozen=True)
class WindowRequests:
    """Requests arriving in a window, sorted by arrival: seconds from the horizon's start, tokens."""

    arrival_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray

    def __len__(self) -> int:
        return len(self.arrival_s)


def synthetic_window(rng: np.random.Generator, rate_per_s: float, begin_s: float, end_s: float,
                     mean_prompt_tokens: float, shape: PromptShape, mean_output_tokens: float) -> WindowRequests:
    """Poisson arrivals at `rate_per_s` in [begin_s, end_s)."""
    n = rng.poisson(max(rate_per_s, 0.0) * (end_s - begin_s))
    arrivals = np.sort(rng.uniform(begin_s, end_s, n))
    prompts = np.maximum(np.rint(mean_prompt_tokens * shape.draw(rng, n)), 1.0)
    outputs = rng.geometric(1.0 / mean_output_tokens, n).astype(float) if mean_output_tokens >= 1 \
        else np.zeros(n)
    return WindowRequests(arrivals, prompts, outputs)


def trace_windows(chunks: Iterable, windows: Sequence[tuple[float, float]], offset_s: float,
                  served_model: str | None) -> tuple[list[WindowRequests], int]:
    """The requests of each window (seconds from the horizon's start) in one pass over a trace's
    chunks (planner/io/traces.py): a request at trace time x is at x + offset_s. Also the
    served model's requests after the last window's end (past the plan's horizon when the
    periods are simulated whole)."""
    begins = np.array([w[0] for w in windows])
    ends = np.array([w[1] for w in windows])
    parts: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = [[] for _ in windows]
    after = 0
    for chunk in chunks:
        t = chunk.time_s + offset_s
        keep = np.ones(len(t), dtype=bool)
        if served_model is not None and chunk.served_model is not None:
            keep = chunk.served_model == served_model
        after += int((keep & (t >= ends[-1])).sum())
        which = np.searchsorted(begins, t, side="right") - 1
        inside = keep & (which >= 0) & (t < ends[np.clip(which, 0, None)])
        for w in np.unique(which[inside]):
            rows = inside & (which == w)
            parts[w].append((t[rows], chunk.input_tokens[rows].astype(float), chunk.output_tokens[rows].astype(float)))
    out = []
    for pieces in parts:
        if not pieces:
            out.append(WindowRequests(np.zeros(0), np.zeros(0), np.zeros(0)))
            continue
        t, p, o = (np.concatenate(x) for x in zip(*pieces))
        order = np.argsort(t, kind="stable")
        out.append(WindowRequests(t[order], np.maximum(p[order], 1.0), o[order]))
    return out, after
