"""Prefill as one FCFS queue over every stream of a served model's prefill units.

A central queue hands the oldest prompt to the stream that frees first (ties: the faster pool),
the dispatch the M/G/c model of formulation.md, section 8 assumes. Kiefer-Wolfowitz by a heap of
free times: start_i = max(a_i, min free), finish_i = start_i + tokens_i x seconds_per_token of the
stream's pool. An outage takes a unit's k streams out for its duration; a prompt they held starts
again on the same stream when the unit is back (a swapped-in node has lost the prompt's state),
and the prompts already committed to those streams wait for it: the dispatch commits a prompt to
a stream when it arrives, so under outages the queue is no longer exactly central.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class StreamPool:
    """The streams of one node type's prefill units in a period."""

    units: int
    streams_per_unit: int
    seconds_per_token: float


@dataclass(frozen=True)
class Outage:
    """Unit `unit` of pool `pool` is down from `start_s` for `duration_s`."""

    start_s: float
    pool: int
    unit: int
    duration_s: float


def serve_prefill(arrival_s: np.ndarray, tokens: np.ndarray, pools: Sequence[StreamPool],
                  outages: Sequence[Outage] = ()) -> tuple[np.ndarray, np.ndarray]:
    """(start, finish) times of each prompt, arrivals sorted. No stream at all: every start is inf."""
    n = len(arrival_s)
    starts, finishes = np.full(n, np.inf), np.full(n, np.inf)
    streams = [(p, u * pool.streams_per_unit + j) for p, pool in enumerate(pools)
               for u in range(pool.units) for j in range(pool.streams_per_unit)]
    if not streams or n == 0:
        return starts, finishes
    speed = [pool.seconds_per_token for pool in pools]
    # heap of (free time, seconds per token, pool, stream id): ties go to the faster pool
    heap = [(0.0, speed[p], p, s) for p, s in streams]
    heapq.heapify(heap)
    committed: dict[tuple[int, int], list[int]] = {}  # (pool, stream) -> prompts it took (with outages only)
    events = sorted(outages, key=lambda o: o.start_s)
    e = 0
    a, w = arrival_s.tolist(), tokens.tolist()
    start, finish = [0.0] * n, [0.0] * n
    replace = heapq.heapreplace
    for i in range(n):
        while e < len(events) and events[e].start_s <= a[i]:
            heap = _take_out(heap, events[e], pools, committed, start, finish, w)
            e += 1
        free, per_token, p, s = heap[0]
        begin = a[i] if a[i] > free else free
        start[i], finish[i] = begin, begin + w[i] * per_token
        replace(heap, (finish[i], per_token, p, s))
        if events:
            committed.setdefault((p, s), []).append(i)
    for outage in events[e:]:  # outages after the last arrival still hold up what runs then
        heap = _take_out(heap, outage, pools, committed, start, finish, w)
    starts[:], finishes[:] = start, finish
    return starts, finishes


def _take_out(heap: list, outage: Outage, pools: Sequence[StreamPool], committed: dict, start: list, finish: list,
              tokens: list) -> list:
    """The heap after unit `outage.unit` of its pool goes down: each of its streams is free again
    only when the unit is back; the prompt it was prefilling starts again then, and the prompts
    already committed to it wait for that one (a dispatcher that commits prompts on arrival)."""
    k = pools[outage.pool].streams_per_unit
    ids = set(range(outage.unit * k, (outage.unit + 1) * k))
    back = outage.start_s + outage.duration_s
    out = []
    for free, per_token, p, s in heap:
        if p == outage.pool and s in ids:
            pending = [i for i in committed.get((p, s), []) if finish[i] > outage.start_s]
            committed[(p, s)] = pending
            free = back
            for i in pending:
                start[i] = max(free, start[i]) if start[i] > outage.start_s else free
                finish[i] = start[i] + tokens[i] * per_token
                free = finish[i]
        out.append((free, per_token, p, s))
    heapq.heapify(out)
    return out
