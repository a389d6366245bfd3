"""Decode as one pooled batch per node type: every running sequence of the pool advances at the
speed the pool's batch gives, sequences wait FIFO for a place when the batch is full.

A GPU holding b sequences takes tau(b) = tau_0 + k b per step (the profile's step-time model
through the plan's operating point: k = (1/v - tau_0) / b_v, formulation.md section 3), so each
user sees 1/tau(b) tokens/s; without tau_0 the speed is the operating point's v at any batch. The
pool admits at most B = G_up min(b_v, b_mem) sequences (the operating point's batch, or what KV
memory holds). Time advances in steps of dt; within a step the speed is constant, so a sequence's
finish is exact given the step's speed (a "token clock" T(t) = integral of the speed: a sequence
admitted at clock T_0 with L tokens finishes when T reaches T_0 + L). Admission waits for the next
step (at most dt). An outage takes a unit's GPUs out; sequences above the new limit go back to
the head of the queue with the tokens they still owe (their KV cache is rebuilt; its cost is not
modelled).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class DecodePool:
    """One node type's decode units of a served model in a period."""

    units: int
    gpus_per_unit: int
    batch_per_gpu: float  # min(b_v, b_mem): the admission limit per GPU
    tokens_per_s_at_batch: float  # the per-user speed at that batch
    fixed_step_s: float | None  # tau_0; None: the speed does not depend on the batch

    def speed(self, batch_per_gpu: float) -> float:
        """Tokens/s each user sees at a batch of b sequences per GPU."""
        if self.fixed_step_s is None or batch_per_gpu <= 0:
            return self.tokens_per_s_at_batch if self.fixed_step_s is None else 1.0 / self.fixed_step_s
        k = (1.0 / self.tokens_per_s_at_batch - self.fixed_step_s) / self.batch_per_gpu
        return 1.0 / (self.fixed_step_s + k * batch_per_gpu)


@dataclass(frozen=True)
class GpuOutage:
    """`gpus` of the pool are out from `start_s` for `duration_s`."""

    start_s: float
    gpus: int
    duration_s: float


@dataclass
class DecodeRun:
    """Per sequence: admission and finish times (inf: not finished by the end); over the measured
    part: the longest admission queue and the mean batch per GPU."""

    admitted_s: np.ndarray
    finish_s: np.ndarray
    max_waiting: int
    mean_batch_per_gpu: float


def serve_decode(ready_s: np.ndarray, tokens: np.ndarray, pool: DecodePool, begin_s: float, end_s: float,
                 dt: float, running: Sequence[float] = (), outages: Sequence[GpuOutage] = (),
                 measure_s: tuple[float, float] | None = None) -> DecodeRun:
    """Sequences ready at `ready_s` (sorted) owing `tokens` each, served from `begin_s` until all
    are done or `end_s`; `running` are the tokens still owed by sequences already in the batch
    at `begin_s` (not reported). A sequence admitted as soon as it is ready starts at its ready
    time (it is credited the part of the step it was ready for)."""
    n = len(ready_s)
    inf = float("inf")
    admitted, finished = [inf] * n, [inf] * n
    gpus_total = pool.units * pool.gpus_per_unit
    if gpus_total == 0:
        return DecodeRun(np.array(admitted), np.array(finished), n, 0.0)
    first, last = measure_s if measure_s is not None else (begin_s, end_s)
    # the sequences running at begin_s, as a sorted array of clock values at which they finish
    old = np.sort(np.asarray(running, dtype=float))
    old_next, old_live = 0, len(old)
    keys: list[float] = []  # heap of clock values at which admitted sequences finish
    owner: dict[float, int] = {}  # finishing clock value -> sequence (made unique by nudging)
    waiting: deque[tuple[int, float]] = deque()  # (sequence, tokens owed), FIFO; evicted ones first
    clock, t, speed = 0.0, begin_s, pool.speed(len(old) / gpus_total)
    next_ready, done, max_waiting, batch_sum, steps = 0, 0, 0, 0.0, 0
    ready, owed = ready_s.tolist(), tokens.tolist()
    events = sorted(outages, key=lambda o: o.start_s)
    down: list[tuple[float, int]] = []  # (back at, gpus)
    push, pop = heapq.heappush, heapq.heappop
    while t < end_s and (done < n or next_ready < n):
        while events and events[0].start_s <= t:
            o = events.pop(0)
            down.append((o.start_s + o.duration_s, o.gpus))
        down = [(back, g) for back, g in down if back > t]
        gpus = max(gpus_total - sum(g for _, g in down), 0)
        limit = int(pool.batch_per_gpu * gpus + 1e-9)
        live = old_live + len(keys)
        if live > limit:  # an outage: the longest-owing sequences, running from before or not, wait again
            live = _evict(live - limit, old, old_next, old_live, keys, owner, waiting, clock)
            old_live = live - len(keys)
        room = limit - live
        while room > 0 and waiting:  # those that waited for a place start now
            i, key = waiting.popleft()
            if i >= 0 and admitted[i] == inf:
                admitted[i] = t
            key += clock
            while key in owner:
                key = math.nextafter(key, inf)
            owner[key] = i
            push(keys, key)
            room -= 1
        while next_ready < n and ready[next_ready] <= t:
            i = next_ready
            next_ready += 1
            if room <= 0:
                waiting.append((i, owed[i]))
                continue
            admitted[i] = ready[i]  # ready during the last step, with room: it started then
            key = clock + owed[i] - speed * (t - ready[i])
            while key in owner:
                key = math.nextafter(key, inf)
            owner[key] = i
            push(keys, key)
            room -= 1
        live = old_live + len(keys)
        if first <= t < last:
            max_waiting = max(max_waiting, len(waiting))
            batch_sum += live / gpus if gpus else 0.0
            steps += 1
        speed = pool.speed(live / gpus) if gpus else 0.0
        after = clock + speed * dt
        if old_live and old[old_next] <= after:
            gone = int(np.searchsorted(old[old_next:old_next + old_live], after, side="right"))
            old_next += gone
            old_live -= gone
        while keys and keys[0] <= after:
            key = pop(keys)
            i = owner.pop(key)
            if i >= 0:  # not one of the sequences running at begin_s
                finished[i] = t + (key - clock) / speed
                done += 1
        clock, t = after, t + dt
    return DecodeRun(np.array(admitted), np.array(finished), max_waiting, batch_sum / max(steps, 1))


def _evict(excess: int, old: np.ndarray, old_next: int, old_live: int, keys: list[float], owner: dict[float, int],
           waiting: deque, clock: float) -> int:
    """Send the `excess` longest-owing sequences back to the head of the queue with the tokens they
    still owe: of those running from before begin_s (the tail of `old`, sorted; they wait as
    sequence -1) and of the admitted ones (the heap `keys`). Returns the sequences left running."""
    olds = old[old_next:old_next + old_live]
    candidates = [(float(k), True) for k in olds[max(len(olds) - excess, 0):]]
    candidates += [(k, False) for k in heapq.nlargest(excess, keys)]
    chosen = sorted(candidates, reverse=True)[:excess]
    dropped_old = sum(1 for _, is_old in chosen if is_old)
    gone = {k for k, is_old in chosen if not is_old}
    for key, is_old in reversed(chosen):
        waiting.appendleft((-1 if is_old else owner.pop(key), key - clock))
    if gone:
        keys[:] = [k for k in keys if k not in gone]
        heapq.heapify(keys)
    old_live -= dropped_old
    return old_live + len(keys)
