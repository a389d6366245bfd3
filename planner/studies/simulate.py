"""`planner simulate`: a plan's hourly allocation replayed request by request (docs/formulation.md,
section 20).

Each period of the plan is simulated on its own: the requests of a window (the whole period, or a
sampled window in its middle after a warm-up) go through the served model's prefill streams
(simulation/prefill.py) and its decode batch (simulation/decode.py), with node failures when
asked (simulation/outages.py). Decode starts each window at its stationary occupancy (Little's
law at the window's rate, remaining tokens from the length-biased output distribution), since a
decode sequence lives for a minute and an empty start would flatter the first minutes.
Results per period and served model, and over the horizon with each period's requests weighted
to the period's volume.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import NO_VALUE, Argument, InputError
from ..physics.data import PlanningData
from ..physics.slo import prompt_shape, ttft_quantile_s
from ..units import SECONDS_PER_HOUR
from .simulation.arrivals import WindowRequests, synthetic_window, trace_windows
from .simulation.decode import DecodePool, GpuOutage, serve_decode
from .simulation.outages import unit_outages
from .simulation.prefill import Outage, StreamPool, serve_prefill

#: TPOT within this share of 1 / promised speed meets the promise (decode admission waits a step).
TPOT_TOLERANCE = 0.01
#: Batches of the batch-means confidence interval of a window's quantiles (Law & Kelton).
BATCHES = 10
#: Above this many requests a day, periods are sampled (a window in each) unless told otherwise.
WHOLE_PERIODS_UP_TO = 2_000_000
#: How long after a window's end its requests may still finish.
DRAIN_S = 3600.0

PERIOD_COLUMNS = (
    "period", "start", "served_model", "requests_simulated", "requests_in_period", "window_s",
    "prefill_units", "decode_units", "prefill_utilization", "ttft_p50_s", "ttft_p95_s", "ttft_p95_ci_s", "ttft_p99_s",
    "ttft_promise_s", "ttft_analytic_s", "tpot_p50_s", "tpot_p95_s", "tpot_p99_s", "tpot_promise_s",
    "ttft_attainment", "tpot_attainment", "slo_attainment", "prefill_queue_mean", "prefill_queue_max",
    "decode_queue_max", "decode_batch_per_gpu_mean", "waited_past_limit", "unfinished", "failures",
    "units_down_at_start", "failures_expected_in_period",
)


@dataclass(frozen=True)
class SimulationSettings:
    """How to simulate: the sampling, the time step, the seed, failures."""

    window_s: float | None = None  # None: whole periods when small enough, else SAMPLED_WINDOW_S
    warmup_s: float = 30.0
    dt_s: float = 0.05
    seed: int = 0
    failures: bool = False
    wait_limit_s: float = 60.0
    scenario: int = 0
    sampled_window_s: float = 60.0


@dataclass(frozen=True)
class Traffic:
    """What is replayed: None for requests drawn from the workload, or a trace's chunks (a
    callable that opens a fresh pass), its offset to the horizon and the served model it feeds."""

    chunks: Callable[[], Any] | None = None
    offset_s: float = 0.0
    served_model: str | None = None
    label: str = "synthetic"


@dataclass
class Simulation:
    """sim.csv's rows and sim.json's record."""

    periods: pd.DataFrame
    record: dict[str, Any] = field(default_factory=dict)


def _window(t_local: int, period_s: float, window_s: float) -> tuple[float, float, float]:
    """(warm-up begins, measuring begins, ends) of period t's window, seconds from the block's start."""
    begin = t_local * period_s
    if window_s >= period_s:
        return begin, begin, begin + period_s
    first = begin + (period_s - window_s) / 2.0
    return max(begin, first - (period_s - window_s) / 2.0), first, first + window_s


def _units(allocation: pd.DataFrame) -> dict[tuple[str, str, str, int], int]:
    return {(r.served_model, r.node_type, r.role, int(r.period)): int(r.units) for r in allocation.itertuples()}


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float | None:
    keep = np.isfinite(values)
    if not keep.any():
        return None if len(values) == 0 else float("inf")
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cumulative = np.cumsum(w) / w.sum()
    # the inverted CDF: the smallest value whose cumulative weight reaches q (rounding forgiven)
    return float(v[min(np.searchsorted(cumulative, q - 1e-12), len(v) - 1)])


def _quantile(values: np.ndarray, q: float) -> float | None:
    return None if len(values) == 0 else float(np.quantile(values, q, method="inverted_cdf"))


def _batch_ci(arrival_s: np.ndarray, values: np.ndarray, q: float) -> float | None:
    """Half-width of the 95 % confidence interval of the q-quantile by batch means over the window."""
    if len(values) < 20 * BATCHES:
        return None
    from scipy.stats import t as student

    batches = np.array_split(np.argsort(arrival_s, kind="stable"), BATCHES)
    estimates = np.array([np.quantile(values[b], q) for b in batches])
    if not np.isfinite(estimates).all():
        return None
    return float(student.ppf(0.975, BATCHES - 1) * estimates.std(ddof=1) / np.sqrt(BATCHES))


def _decode_pool(data: PlanningData, m: str, g: str, t: int, units: int) -> DecodePool:
    point = data.decode_points[(m, g)]
    if point.mean_tokens_per_s_per_user is None:
        raise InputError(data.source, f"served_models.{m}.slo.decode_tokens_per_s_per_user", None,
                         f"the simulation needs a per-user speed, and profile of {g} states none")
    batch, speed = point.running(data.node_type(g).gpus_per_node)
    gpus = data.unit_nodes[(m, g, "decode")] * data.node_type(g).gpus_per_node
    return DecodePool(units, gpus, float(batch[t]), float(speed[t]), point.fixed_step_s)


def _stationary_running(rng: np.random.Generator, pool: DecodePool, rate_per_s: float,
                        outputs: np.ndarray) -> list[float]:
    """Tokens still owed by the sequences decoding in steady state: N from Little's law,
    G b v(b) = lambda E[L], capped at the batch limit; each owes U x L, L length-biased."""
    gpus = pool.units * pool.gpus_per_unit
    positive = outputs[outputs > 0]
    if gpus == 0 or len(positive) == 0 or rate_per_s <= 0:
        return []
    x = rate_per_s * positive.mean()  # tokens/s the pool must make
    if pool.fixed_step_s is None:
        b = x / (gpus * pool.tokens_per_s_at_batch)
    else:
        k = (1.0 / pool.tokens_per_s_at_batch - pool.fixed_step_s) / pool.batch_per_gpu
        b = x * pool.fixed_step_s / (gpus - x * k) if gpus > x * k else np.inf
    n = int(round(min(b, pool.batch_per_gpu) * gpus))
    lengths = rng.choice(positive, size=n, p=positive / positive.sum())
    return (rng.uniform(0.0, 1.0, n) * lengths).tolist()


def _simulate_window(data: PlanningData, m: str, t: int, requests: WindowRequests,
                     window: tuple[float, float, float], units: Mapping[tuple[str, str, str, int], int],
                     settings: SimulationSettings, rng: np.random.Generator, failure_rng: np.random.Generator,
                     rate_per_s: float) -> dict[str, Any]:
    """One period of one served model: the window's requests through prefill and decode."""
    types = data.deployed_types(m)
    prefill_units = {g: units.get((m, g, "prefill", t), 0) for g in types}
    decode_units = {g: units.get((m, g, "decode", t), 0) for g in types}
    begin, measure_from_s, end = window
    pools = [StreamPool(prefill_units[g], data.prefill_streams[(m, g)].streams_per_unit,
                        float(data.prefill_streams[(m, g)].seconds_per_token[t])) for g in types]
    failures, down_at_start, prefill_outages, decode_outages = 0, 0, [], {g: [] for g in types}
    if settings.failures and data.failure_rates is not None:
        for p, g in enumerate(types):
            for role, n in (("prefill", prefill_units[g]), ("decode", decode_units[g])):
                events, seen = unit_outages(failure_rng, n, data.unit_nodes[(m, g, role)], data.failure_rates,
                                            begin, end, measure_from_s)
                failures += seen
                down_at_start += sum(start <= begin for start, _, _ in events)
                if role == "prefill":
                    prefill_outages += [Outage(s, p, u, d) for s, u, d in events]
                else:
                    gpus = data.unit_nodes[(m, g, role)] * data.node_type(g).gpus_per_node
                    decode_outages[g] += [GpuOutage(s, gpus, d) for s, u, d in events]
    start, finish = serve_prefill(requests.arrival_s, requests.prompt_tokens, pools, prefill_outages)
    decode_finish = np.full(len(requests), np.inf)
    capacity = np.array([decode_units[g] * data.unit_nodes[(m, g, "decode")]
                         * float(data.decode_points[(m, g)].tokens_per_s_per_node_by_period[t]) for g in types])
    queue_max, batch_mean = 0, 0.0
    if capacity.sum() > 0:
        route = rng.choice(len(types), size=len(requests), p=capacity / capacity.sum())
        for j, g in enumerate(types):
            if decode_units[g] == 0:
                continue
            pool = _decode_pool(data, m, g, t, decode_units[g])
            mine = np.flatnonzero((route == j) & np.isfinite(finish))  # prefilled
            order = mine[np.argsort(finish[mine], kind="stable")]
            running = _stationary_running(rng, pool, rate_per_s * capacity[j] / capacity.sum(),
                                          requests.output_tokens)
            run = serve_decode(finish[order], requests.output_tokens[order], pool, begin, end + DRAIN_S,
                               settings.dt_s, running, decode_outages[g], (measure_from_s, end))
            decode_finish[order] = run.finish_s
            queue_max = max(queue_max, run.max_waiting)
            batch_mean += run.mean_batch_per_gpu * capacity[j] / capacity.sum()
    measured = requests.arrival_s >= measure_from_s
    tokens_per_s = sum(p.units * p.streams_per_unit / p.seconds_per_token for p in pools)
    utilization = (rate_per_s * float(np.mean(requests.prompt_tokens)) / tokens_per_s
                   if tokens_per_s > 0 and len(requests) else None)
    return _window_metrics(data, m, t, requests, measured, start, finish, decode_finish, pools, settings, rate_per_s) | {
        "prefill_units": sum(prefill_units.values()), "decode_units": sum(decode_units.values()),
        "decode_queue_max": queue_max, "decode_batch_per_gpu_mean": batch_mean,
        "failures": failures, "units_down_at_start": down_at_start, "prefill_utilization": utilization,
        "failures_expected_in_period": _expected_failures(data, m, t, prefill_units, decode_units),
    }


def _expected_failures(data: PlanningData, m: str, t: int, prefill_units: Mapping[str, int],
                       decode_units: Mapping[str, int]) -> float | None:
    """Failures the period's serving units of m see on average: (nodes x lambda + units x
    lambda_unit) x period hours."""
    if data.failure_rates is None:
        return None
    nodes = sum(n * data.unit_nodes[(m, g, "prefill")] for g, n in prefill_units.items()) + \
        sum(n * data.unit_nodes[(m, g, "decode")] for g, n in decode_units.items())
    units = sum(prefill_units.values()) + sum(decode_units.values())
    rates = data.failure_rates
    return (nodes * rates.node_failures_per_hour + units * rates.unit_failures_per_hour) * data.period_hours


def _promises(data: PlanningData, m: str) -> tuple[float | None, float | None]:
    level = data.service_levels[m]
    tpot = None if level.decode_tokens_per_s_per_user is None else 1.0 / level.decode_tokens_per_s_per_user
    return level.ttft_s, tpot


def _window_metrics(data: PlanningData, m: str, t: int, requests: WindowRequests, measured: np.ndarray,
                    start: np.ndarray, finish: np.ndarray, decode_finish: np.ndarray, pools: Sequence[StreamPool],
                    settings: SimulationSettings, rate_per_s: float) -> dict[str, Any]:
    arrival = requests.arrival_s[measured]
    ttft = (finish - requests.arrival_s)[measured]
    wait = (start - requests.arrival_s)[measured]
    outputs = requests.output_tokens[measured]
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot_all = (decode_finish - finish)[measured] / outputs
    tpot = tpot_all[outputs > 0]
    ttft_target, tpot_target = _promises(data, m)
    ttft_ok = np.isfinite(ttft) & ((ttft <= ttft_target + 1e-9) if ttft_target is not None else True)
    tpot_ok = (outputs == 0) | (np.isfinite(tpot_all) & ((tpot_all <= tpot_target * (1 + TPOT_TOLERANCE))
                                                         if tpot_target is not None else True))
    starts_sorted = np.sort(start[measured])
    waiting = np.arange(len(arrival)) - np.searchsorted(starts_sorted, arrival, side="right") if len(arrival) else []
    analytic = None
    requests_model = data.requests.get(m)
    live = [p for p in pools if p.units > 0]
    if ttft_target is not None and requests_model is not None and len(live) == 1 and rate_per_s > 0:
        level = data.service_levels[m]
        shape = prompt_shape(requests_model.prompt_kind, requests_model.prompt_scv, requests_model.prompt_sample)
        service = requests_model.mean_prompt_tokens * live[0].seconds_per_token
        analytic = float(ttft_quantile_s(live[0].units * live[0].streams_per_unit, rate_per_s, service, shape,
                                         level.ttft_percentile))
    n = int(measured.sum())
    share = lambda ok: float(np.mean(ok)) if n else None  # noqa: E731
    return {
        "requests_simulated": n,
        "ttft_p50_s": _quantile(ttft, 0.5), "ttft_p95_s": _quantile(ttft, 0.95),
        "ttft_p95_ci_s": _batch_ci(arrival, ttft, 0.95), "ttft_p99_s": _quantile(ttft, 0.99),
        "ttft_promise_s": ttft_target, "ttft_analytic_s": analytic,
        "tpot_p50_s": _quantile(tpot, 0.5), "tpot_p95_s": _quantile(tpot, 0.95), "tpot_p99_s": _quantile(tpot, 0.99),
        "tpot_promise_s": tpot_target,
        "ttft_attainment": share(ttft_ok), "tpot_attainment": share(tpot_ok), "slo_attainment": share(ttft_ok & tpot_ok),
        "prefill_queue_mean": float(np.mean(np.maximum(waiting, 0))) if n else None,
        "prefill_queue_max": int(np.max(np.maximum(waiting, 0))) if n else 0,
        "waited_past_limit": int((wait > settings.wait_limit_s).sum()),
        "unfinished": int((~np.isfinite(decode_finish[measured]) & (outputs > 0)).sum() + (~np.isfinite(ttft)).sum()),
        "_ttft": ttft, "_tpot": tpot, "_ok": ttft_ok & tpot_ok, "_ttft_ok": ttft_ok, "_tpot_ok": tpot_ok,
    }


def check_plan(data: PlanningData, allocation: pd.DataFrame, source: str) -> None:
    """The allocation belongs to this instance: known models, types and roles, periods in range."""
    known = {(m, g) for m, g in data.deployments}
    if allocation.empty:
        raise InputError(source, "(rows)", NO_VALUE, "the allocation has no rows: not a plan of planner solve")
    duplicated = allocation.duplicated(["served_model", "node_type", "role", "period"])
    if duplicated.any():
        i = int(duplicated.to_numpy().nonzero()[0][0])
        raise InputError(source, f"data row {i + 1}", ",".join(map(str, allocation.iloc[i].tolist())),
                         "a second row for the same served model, node type, role and period")
    for i, r in enumerate(allocation.itertuples()):
        if r.role not in ("prefill", "decode"):
            raise InputError(source, f"data row {i + 1}, role", r.role, "must be prefill or decode")
        if (r.served_model, r.node_type) not in known:
            raise InputError(source, "allocation.csv, served_model/node_type", f"{r.served_model}/{r.node_type}",
                             f"not a deployment of instance {data.name} ({data.source}); simulate with the "
                             "instance the plan was made from (--instance, --set)")
        if not 0 <= int(r.period) < data.periods:
            raise InputError(source, "allocation.csv, period", int(r.period),
                             f"outside instance {data.name}'s {data.periods} periods")
        if int(r.nodes) != int(r.units) * data.unit_nodes[(r.served_model, r.node_type, r.role)]:
            raise InputError(source, f"data row {i + 1}, nodes", int(r.nodes),
                             f"not units x {data.unit_nodes[(r.served_model, r.node_type, r.role)]} nodes per unit "
                             f"({int(r.units)} units)")


def simulate_plan(data: PlanningData, allocation: pd.DataFrame, traffic: Traffic,
                  settings: SimulationSettings = SimulationSettings(),
                  progress: Callable[[int, int], None] = lambda done, total: None) -> Simulation:
    """Replay the plan's periods of one scenario (settings.scenario) against `traffic`."""
    base = data.periods // data.scenarios
    if not 0 <= settings.scenario < data.scenarios:
        raise InputError(data.source, Argument("scenario"), settings.scenario,
                         f"the plan has {data.scenarios} scenario(s), numbered from 0")
    periods = range(settings.scenario * base, (settings.scenario + 1) * base)
    period_s = data.period_hours * SECONDS_PER_HOUR
    models = [m for m in data.served_models if m in data.requests]
    missing = [m for m in data.served_models if m not in data.requests]
    if missing:
        raise InputError(data.source, f"served_models.{missing[0]}.workload", NO_VALUE,
                         "the simulation needs each served model's workload (mean_prompt_tokens) to turn tokens "
                         "into requests")
    if traffic.chunks is not None:
        models = [traffic.served_model or models[0]]
    rates = {m: data.demand_tokens["input_tokens"][data.model_index(m)][list(periods)]
             / data.requests[m].mean_prompt_tokens / period_s for m in models}
    window_s = settings.window_s
    if window_s is None:
        daily = sum(r.sum() for r in rates.values()) * period_s / (base * data.period_hours / 24.0)
        window_s = period_s if daily <= WHOLE_PERIODS_UP_TO else settings.sampled_window_s
    window_s = min(window_s, period_s)
    windows = [_window(i, period_s, window_s) for i in range(base)]
    warm = [(max(b, first - settings.warmup_s), first, e) for b, first, e in windows]
    units = _units(allocation)
    rng = np.random.default_rng(settings.seed)
    failure_rng = np.random.default_rng([settings.seed, 1])  # its own stream: failures leave the requests alone
    per_model_windows = {}
    outside = None
    if traffic.chunks is not None:
        per_model_windows[models[0]], outside = trace_windows(traffic.chunks(), [(b, e) for b, _, e in warm],
                                                              traffic.offset_s, traffic.served_model)
        if not any(len(w) for w in per_model_windows[models[0]]):
            raise InputError(traffic.label.removeprefix("trace "), "served_model", traffic.served_model,
                             f"no request of the trace for this served model falls in the plan's {base} periods "
                             f"(from {data.period_starts[periods[0]].isoformat()}; the trace's first timestamp "
                             "floored to the period is period 0)")
    rows, pooled = [], {m: [] for m in models}
    total = len(models) * base
    for i, t in enumerate(periods):
        for j, m in enumerate(models):
            b, first, e = warm[i]
            spec = data.requests[m]
            if m in per_model_windows:
                requests = per_model_windows[m][i]
                rate = len(requests) / (e - b) if e > b else 0.0
            else:
                shape = prompt_shape(spec.prompt_kind, spec.prompt_scv, spec.prompt_sample)
                rate = float(rates[m][i])
                requests = synthetic_window(rng, rate, b, e, spec.mean_prompt_tokens, shape,
                                            float(spec.mean_output_tokens[t]))
            with np.errstate(invalid="ignore", divide="ignore"):
                row = _simulate_window(data, m, t, requests, warm[i], units, settings, rng, failure_rng, rate)
            volume = float(rates[m][i]) * period_s if m not in per_model_windows \
                else row["requests_simulated"] * period_s / (e - first)  # a trace's own count, scaled up
            weight = volume / max(row["requests_simulated"], 1)
            pooled[m].append((row.pop("_ttft"), row.pop("_tpot"), row.pop("_ok"), row.pop("_ttft_ok"),
                              row.pop("_tpot_ok"), weight))
            rows.append({"period": t, "start": data.period_starts[t].isoformat(), "served_model": m,
                         "requests_in_period": volume, "window_s": e - first, **row})
            progress(i * len(models) + j + 1, total)
    frame = pd.DataFrame(rows, columns=list(PERIOD_COLUMNS))
    record = {
        "traffic": traffic.label, "scenario": settings.scenario, "periods": base,
        "trace_requests_after_the_horizon": outside,
        "sampling": {"window_s": window_s, "warmup_s": settings.warmup_s, "whole_periods": window_s >= period_s,
                     "dt_s": settings.dt_s, "seed": settings.seed, "failures": settings.failures},
        **_pooled([p for m in models for p in pooled[m]]),  # every served model's requests together
        "served_models": {m: _overall(data, m, pooled[m], frame[frame["served_model"] == m]) for m in models},
    }
    return Simulation(frame, record)


def _pooled(pooled: list) -> dict[str, Any]:
    """TTFT and TPOT quantiles and the shares meeting the SLO over pooled windows (ttft, tpot,
    ok, ttft_ok, tpot_ok, weight), each request weighted to its period's volume."""
    ttft = np.concatenate([p[0] for p in pooled]) if pooled else np.zeros(0)
    tpot = np.concatenate([p[1] for p in pooled]) if pooled else np.zeros(0)
    w_ttft = np.concatenate([np.full(len(p[0]), p[5]) for p in pooled]) if pooled else np.zeros(0)
    w_tpot = np.concatenate([np.full(len(p[1]), p[5]) for p in pooled]) if pooled else np.zeros(0)
    share = lambda k: float(np.average(np.concatenate([p[k] for p in pooled]), weights=w_ttft)) \
        if len(w_ttft) else None  # noqa: E731
    return {
        "requests_simulated": int(len(ttft)),
        "ttft_s": {f"p{q}": _weighted_quantile(ttft, w_ttft, q / 100) for q in (50, 95, 99)},
        "tpot_s": {f"p{q}": _weighted_quantile(tpot, w_tpot, q / 100) for q in (50, 95, 99)},
        "slo_attainment": share(2),
        "ttft_attainment": share(3),
        "tpot_attainment": share(4),
        "tpot_mean_s": float(np.average(tpot, weights=w_tpot)) if len(tpot) else None,
    }


def _overall(data: PlanningData, m: str, pooled: list, rows: pd.DataFrame) -> dict[str, Any]:
    """Horizon figures of one served model: each period's requests weighted to its volume."""
    ttft_target, tpot_target = _promises(data, m)
    level = data.service_levels[m]
    figures = _pooled(pooled)
    ttft_share = figures["ttft_attainment"]
    promised = level.ttft_percentile if ttft_target is not None else None
    missing = rows.loc[rows["ttft_attainment"] < promised, "period"].tolist() if promised is not None else []
    return {
        **figures,
        "promise": {"ttft_s": ttft_target, "ttft_percentile": promised, "tpot_s": tpot_target,
                    "tpot_basis": "mean" if level.decode_speed_percentile is None
                    else f"p{level.decode_speed_percentile * 100:g}"},
        "ttft_promise_held": None if promised is None else bool(ttft_share is not None and ttft_share >= promised),
        "periods_below_ttft_promise": [int(p) for p in missing],
        "waited_past_limit": int(rows["waited_past_limit"].sum()),
        "unfinished": int(rows["unfinished"].sum()),
        "failures": int(rows["failures"].sum()),
        "failures_expected_over_horizon": None if rows["failures_expected_in_period"].isna().all()
        else float(rows["failures_expected_in_period"].sum()),
    }
