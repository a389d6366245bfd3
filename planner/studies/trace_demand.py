"""A request trace turned into an instance's demand table, in one streaming pass
(`planner demand from-trace`; the trace is read by planner/io/traces.py).

Periods of `period_minutes` start at the trace's first timestamp floored to the period length
(in UTC, counted from 1970-01-01). For every period from 0 to the last and every served model:
- the demand row: the tokens of the requests arriving in the period, summed exactly (integers);
- statistics: requests, arrival rate, prompt and output length means, SCVs (variance / mean²,
  exact, from per-chunk sums merged by Chan's formula) and quantiles (p50, p90, p99) from fixed
  log-spaced histograms, the cache-hit share, and the peak-to-mean ratio of arrivals in windows
  of `window_s` seconds.

Quantiles. Lengths below 200 tokens have a bin each (exact); above, bins are 0.5 % wide
(edges 200 × 1.005^k) and a quantile is reported at its bin's geometric middle, so it lies within
0.5 % of the exact quantile (the inverted-CDF one: the smallest length with at least q of the
requests at or below it). Histograms are kept only for the periods a chunk has not closed: the
trace is sorted, so a period earlier than the chunk's last is final and its quantiles are taken
then. Memory is bounded by the chunk size, the sample size and the number of periods.

Peak to mean. Windows of `window_s` tile each period from its start; the ratio is the largest
window's arrivals over the period's arrivals × window_s / period_s: against the period's mean rate,
the rate the plan's rows multiply by it (docs/formulation.md, section 3). A first or last period
the trace covers in part (covered_s, from its first to its last timestamp) thus carries its
coverage in the ratio: its requests are the period's, its peak their busiest window.

Scaling (`scale_to`, output tokens per day): factor = scale_to / (trace output tokens × 86,400 /
span_s), span_s = last − first timestamp; every column of every model multiplied by it and
rounded to whole tokens by largest remainders, column totals kept (input as cache hits plus
misses, each kept; a factor that makes a column total 2^62 or more is refused). Shape (`shape`, a demand table's output tokens per period): the table gets the
shape's periods; each model's column totals are the trace's × factor = total / trace output
tokens, total being `scale_to` × the shape's days or, without `scale_to`, the shape's own output
total; each total spread over the periods in proportion to the shape's output tokens.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..errors import NO_VALUE, Argument, InputError
from ..io.demand import DEMAND_COLUMNS
from ..io.schema.common import NAME_PATTERN
from ..io.traces import MAX_TOKENS, TraceRequests, bad_rows_text

#: Lengths below this have a histogram bin each.
EXACT_BELOW = 200
#: Relative width of the log-spaced bins above EXACT_BELOW.
BIN_RATIO = 1.005
#: Bins per histogram: enough for lengths up to 2^62 (the trace reader's limit).
BINS = 8192
#: Served models a trace may hold (the key encoding's limit).
MAX_MODELS = 65_536
#: Periods a table may have.
MAX_PERIODS = 1_000_000
QUANTILES = ((50, 100), (90, 100), (99, 100))
SAMPLE_SIZE = 100_000
SECONDS_PER_DAY = 86_400.0
#: A column's total (of the trace, or of a scaled or shaped table) must stay below this: every
#: sum of its values is then exact in int64. The trace reader keeps each value below 2^62.
MAX_TOTAL = 2**63
#: A scaled or shaped table's column totals stay below this (room for the float rounding of the factor).
MAX_SCALED_TOTAL = float(MAX_TOKENS)

STATS_COLUMNS = ("period", "served_model", "start", "requests", "covered_s", "arrival_rate_per_s",
                 "prompt_tokens_mean", "prompt_tokens_scv", "prompt_tokens_p50", "prompt_tokens_p90",
                 "prompt_tokens_p99", "output_tokens_mean", "output_tokens_scv", "output_tokens_p50",
                 "output_tokens_p90", "output_tokens_p99", "cache_hit_share", "peak_to_mean_ratio", "window_s")


@dataclass(frozen=True)
class TraceDemandOptions:
    """How to aggregate: period and window lengths, the served model, scaling and shape."""

    period_minutes: float = 60.0
    served_model: str | None = None
    window_s: float = 10.0
    scale_to: float | None = None
    shape: np.ndarray | None = None
    shape_source: str | None = None
    sample_size: int = SAMPLE_SIZE
    seed: int = 0

    @property
    def period_s(self) -> float:
        return self.period_minutes * 60.0


@dataclass
class TraceDemand:
    """The outputs: the demand table, its comment lines, the statistics, the prompt sample and the
    summary record (the JSON file)."""

    demand: pd.DataFrame
    header: list[str]
    stats: pd.DataFrame
    prompts: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def check_options(options: TraceDemandOptions) -> None:
    """Refuse impossible options before the trace is read."""
    if not (math.isfinite(options.period_minutes) and options.period_minutes > 0):
        raise InputError(Argument("period_minutes"), "", options.period_minutes, "must be a positive number")
    if not (math.isfinite(options.window_s) and 0 < options.window_s <= options.period_s):
        raise InputError(Argument("window_s"), "", options.window_s,
                         f"must be positive and at most the period ({options.period_s:g} s)")
    per_period = options.period_s / options.window_s
    if abs(per_period - round(per_period)) > 1e-9 * per_period:
        raise InputError(Argument("window_s"), "", options.window_s,
                         f"must divide the period ({options.period_s:g} s) into whole windows")
    if options.scale_to is not None and not (math.isfinite(options.scale_to) and options.scale_to > 0):
        raise InputError(Argument("scale_to"), "", options.scale_to, "must be a positive number of tokens per day")
    if options.served_model is not None and not re.fullmatch(NAME_PATTERN, options.served_model):
        raise InputError(Argument("served_model"), "", options.served_model,
                         "must be a served-model name (letters, digits, _@+-)")


def trace_demand(chunks: Iterable[TraceRequests], options: TraceDemandOptions,
                 prompts_file: str = "prompts.csv", demand_file: str = "demand.csv") -> TraceDemand:
    """Aggregate the chunks of a trace (io.traces.iter_trace_chunks) into the demand table,
    statistics, prompt sample and summary. `prompts_file` and `demand_file` are the names the
    suggested instance snippet gives."""
    check_options(options)
    acc = _Accumulator(options)
    for chunk in chunks:
        acc.add(chunk)
    acc.close()
    return _outputs(acc, options, prompts_file, demand_file)


# ---------------------------------------------------------------------------------------------
# Histograms and rounding
# ---------------------------------------------------------------------------------------------
def length_bins(values: np.ndarray) -> np.ndarray:
    """The histogram bin of each length (int64 >= 0)."""
    values = np.asarray(values, dtype=np.int64)
    out = values.copy()
    big = values >= EXACT_BELOW
    if big.any():
        out[big] = EXACT_BELOW + np.floor(np.log(values[big] / EXACT_BELOW) / math.log(BIN_RATIO)).astype(np.int64)
    return np.minimum(out, BINS - 1)


def bin_values(bins: np.ndarray) -> np.ndarray:
    """The length a bin reports: itself below EXACT_BELOW, else its geometric middle."""
    bins = np.asarray(bins, dtype=np.int64)
    log_bin = EXACT_BELOW * BIN_RATIO ** (bins - EXACT_BELOW + 0.5)
    return np.where(bins < EXACT_BELOW, bins.astype(float), log_bin)


def histogram_quantiles(bins_sorted_counts: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Quantiles (QUANTILES) of grouped histograms: (group of each entry, bin, count), sorted by
    group then bin. Returns [groups, 3] lengths, groups in order of their first entry."""
    groups, bins, counts = bins_sorted_counts
    if len(groups) == 0:
        return np.zeros((0, len(QUANTILES)))
    starts = np.flatnonzero(np.concatenate([[True], groups[1:] != groups[:-1]]))
    cumulative = np.cumsum(counts)
    before = np.concatenate([[0], cumulative[starts[1:] - 1]])
    totals = np.add.reduceat(counts, starts)
    out = np.empty((len(starts), len(QUANTILES)))
    for k, (num, den) in enumerate(QUANTILES):
        rank = -(-totals * num // den)  # ceil(q n), exactly
        index = np.searchsorted(cumulative, before + np.maximum(rank, 1), side="left")
        out[:, k] = bin_values(bins[index])
    return out


def exact_sum(values: np.ndarray) -> int:
    """The exact sum of int64 values in [0, 2^62) as a Python int (no int64 overflow): the high and
    low 31 bits summed apart (each sum fits for fewer than 2^32 values)."""
    values = np.asarray(values, dtype=np.int64)
    return (int((values >> 31).sum()) << 31) + int((values & (2**31 - 1)).sum())


def apportion(values: np.ndarray, total: int | None = None) -> np.ndarray:
    """Whole numbers near `values` (>= 0) adding up to `total` (default: their rounded sum):
    floors, then one more to the largest remainders (ties to the earlier)."""
    values = np.asarray(values, dtype=float)
    target = int(round(float(values.sum()))) if total is None else int(total)
    floors = np.floor(values)
    short = target - int(floors.sum())
    out = floors.astype(np.int64)
    if short > 0:
        order = np.argsort(-(values - floors), kind="stable")
        out[order[: min(short, len(out))]] += 1
    return out


# ---------------------------------------------------------------------------------------------
# The streaming pass
# ---------------------------------------------------------------------------------------------
class _Carry:
    """Sparse counts (key -> count) of the groups a chunk has not closed yet."""

    def __init__(self) -> None:
        self.keys = np.zeros(0, dtype=np.int64)
        self.counts = np.zeros(0, dtype=np.int64)

    def merge(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The carried counts plus one per key, as (sorted unique keys, counts)."""
        keys = np.concatenate([self.keys, keys])
        weights = np.concatenate([self.counts, np.ones(len(keys) - len(self.keys), dtype=np.int64)])
        unique, inverse = np.unique(keys, return_inverse=True)
        counts = np.bincount(inverse, weights=weights, minlength=len(unique)).astype(np.int64)
        return unique, counts


class _Accumulator:
    def __init__(self, options: TraceDemandOptions) -> None:
        self.options = options
        self.windows_per_period = int(round(options.period_s / options.window_s))
        self.origin_offset_s: float | None = None
        self.origin_ns = 0
        self.first: TraceRequests | None = None
        self.models: dict[str, int] = {}
        self.left_out: dict[str, int] = {}
        self.rows_read = 0
        self.bad_rows: dict[str, int] = {}
        self.kept = 0
        self.last_s = 0.0
        self.max_period = -1
        self.has_cached = False
        self.source = ""
        self.format = ""
        self.partials: list[dict[str, np.ndarray]] = []
        self.prompt_carry, self.output_carry, self.window_carry = _Carry(), _Carry(), _Carry()
        self.prompt_quantiles: list[tuple[np.ndarray, np.ndarray]] = []
        self.output_quantiles: list[tuple[np.ndarray, np.ndarray]] = []
        self.window_max: list[tuple[np.ndarray, np.ndarray]] = []
        self.prompt_hist: dict[int, np.ndarray] = {}
        self.output_hist: dict[int, np.ndarray] = {}
        self.rng = np.random.default_rng(options.seed)
        self.sample = {"key": np.zeros(0), "row": np.zeros(0, dtype=np.int64),
                       "prompt_tokens": np.zeros(0, dtype=np.int64), "output_tokens": np.zeros(0, dtype=np.int64)}
        self.zero_prompts = 0
        self.exact_totals = {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0}

    # -- one chunk ------------------------------------------------------------------------------
    def add(self, chunk: TraceRequests) -> None:
        self.rows_read += chunk.rows_read
        for reason, count in chunk.bad_rows.items():
            self.bad_rows[reason] = self.bad_rows.get(reason, 0) + count
        self.source, self.format, self.has_cached = chunk.source, chunk.format, chunk.has_cached_column
        if len(chunk) == 0:
            return
        if self.first is None:
            self.first = chunk
            period_ns = round(self.options.period_s * 1e9)
            start_ns = chunk.start.value
            self.origin_ns = (start_ns // period_ns) * period_ns
            self.origin_offset_s = (start_ns - self.origin_ns) / 1e9
        model = self._model_index(chunk)
        if model is None:
            return
        keep = model >= 0
        if not keep.all():
            chunk = chunk.subset(keep)
            model = model[keep]
            if len(chunk) == 0:
                return
        self._check_totals(chunk)
        self.kept += len(chunk)
        self.last_s = float(chunk.time_s[-1])
        window = np.floor((chunk.time_s + self.origin_offset_s) / self.options.window_s).astype(np.int64)
        period = window // self.windows_per_period
        last_period = int(period[-1])
        if last_period >= MAX_PERIODS:
            raise InputError(chunk.source, "timestamp", NO_VALUE,
                             f"the trace spans more than {MAX_PERIODS:,} periods of {self.options.period_minutes:g} "
                             "minutes; use longer periods")
        self.max_period = last_period
        group = period * MAX_MODELS + model
        self._sums(group, chunk)
        self._histograms(group, model, chunk, last_period)
        self._windows(window * MAX_MODELS + model, int(window[-1]))
        self._sample(chunk)

    def _check_totals(self, chunk: TraceRequests) -> None:
        """Keep each column's total exact: refuse a trace whose total reaches 2^63 (int64 sums)."""
        for name, values in (("input_tokens", chunk.input_tokens), ("cached_input_tokens", chunk.cached_input_tokens),
                             ("output_tokens", chunk.output_tokens)):
            self.exact_totals[name] += exact_sum(values)
            if self.exact_totals[name] >= MAX_TOTAL:
                raise InputError(chunk.source, name, self.exact_totals[name],
                                 "the trace's tokens add up to 2^63 or more by this chunk: too many to sum "
                                 "exactly (the demand table holds 64-bit integers)")

    def _model_index(self, chunk: TraceRequests) -> np.ndarray | None:
        """Each row's model index (-1: left out), or None when the whole chunk is left out."""
        wanted = self.options.served_model
        if chunk.served_model is None:
            name = wanted or "default"
            self.models.setdefault(name, 0)
            return np.zeros(len(chunk), dtype=np.int64)
        codes, names = pd.factorize(chunk.served_model)
        index = np.full(len(names), -1, dtype=np.int64)
        for k, name in enumerate(names):
            if wanted is not None and name != wanted:
                self.left_out[name] = self.left_out.get(name, 0) + int((codes == k).sum())
                continue
            if name not in self.models:
                if not re.fullmatch(NAME_PATTERN, name):
                    raise InputError(chunk.source, "served_model", name,
                                     "not a served-model name (letters, digits, _@+-), as an instance needs")
                if len(self.models) >= MAX_MODELS:
                    raise InputError(chunk.source, "served_model", name, f"more than {MAX_MODELS:,} served models")
                self.models[name] = len(self.models)
            index[k] = self.models[name]
        return index[codes]

    def _sums(self, group: np.ndarray, chunk: TraceRequests) -> None:
        unique, inverse = np.unique(group, return_inverse=True)
        n = np.bincount(inverse, minlength=len(unique))
        part = {"group": unique, "n": n.astype(np.int64)}
        for name, values in (("input", chunk.input_tokens), ("cached", chunk.cached_input_tokens),
                             ("output", chunk.output_tokens)):
            total = np.zeros(len(unique), dtype=np.int64)
            np.add.at(total, inverse, values)
            part[f"sum_{name}"] = total
        for name, values in (("prompt", chunk.input_tokens), ("out", chunk.output_tokens)):
            mean = np.bincount(inverse, weights=values, minlength=len(unique)) / n
            deviation = values - mean[inverse]
            part[f"mean_{name}"] = mean
            part[f"m2_{name}"] = np.bincount(inverse, weights=deviation * deviation, minlength=len(unique))
        self.partials.append(part)

    def _histograms(self, group: np.ndarray, model: np.ndarray, chunk: TraceRequests, last_period: int) -> None:
        for values, carry, found, overall in ((chunk.input_tokens, self.prompt_carry, self.prompt_quantiles,
                                               self.prompt_hist),
                                              (chunk.output_tokens, self.output_carry, self.output_quantiles,
                                               self.output_hist)):
            bins = length_bins(values)
            for m in np.unique(model):
                counts = np.bincount(bins[model == m], minlength=BINS)
                overall[int(m)] = overall.get(int(m), np.zeros(BINS, dtype=np.int64)) + counts
            keys, counts = carry.merge(group * BINS + bins)
            closed = (keys // BINS) // MAX_MODELS < last_period
            found.append(self._quantiles(keys[closed], counts[closed]))
            carry.keys, carry.counts = keys[~closed], counts[~closed]

    @staticmethod
    def _quantiles(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        groups = keys // BINS
        values = histogram_quantiles((groups, keys % BINS, counts))
        return np.unique(groups), values

    def _windows(self, keys: np.ndarray, last_window: int) -> None:
        unique, counts = self.window_carry.merge(keys)
        window = unique // MAX_MODELS
        closed = window < last_window
        self._window_max(unique[closed], counts[closed])
        self.window_carry.keys, self.window_carry.counts = unique[~closed], counts[~closed]

    def _window_max(self, keys: np.ndarray, counts: np.ndarray) -> None:
        if len(keys):
            group = (keys // MAX_MODELS) // self.windows_per_period * MAX_MODELS + keys % MAX_MODELS
            self.window_max.append((group, counts))

    def _sample(self, chunk: TraceRequests) -> None:
        """A uniform sample without replacement of the requests with a prompt: each gets a random
        key, the smallest `sample_size` keys are kept (the same sample whatever the chunk size)."""
        keys = self.rng.random(len(chunk))
        rows = np.arange(self.kept - len(chunk), self.kept, dtype=np.int64)
        positive = chunk.input_tokens > 0
        self.zero_prompts += int((~positive).sum())
        merged = {"key": np.concatenate([self.sample["key"], keys[positive]]),
                  "row": np.concatenate([self.sample["row"], rows[positive]]),
                  "prompt_tokens": np.concatenate([self.sample["prompt_tokens"], chunk.input_tokens[positive]]),
                  "output_tokens": np.concatenate([self.sample["output_tokens"], chunk.output_tokens[positive]])}
        size = self.options.sample_size
        if len(merged["key"]) > size:
            keep = np.argpartition(merged["key"], size - 1)[:size]
            merged = {k: v[keep] for k, v in merged.items()}
        self.sample = merged

    # -- the end --------------------------------------------------------------------------------
    def close(self) -> None:
        """Close every group still open (the end of the trace closes them all)."""
        for carry, found in ((self.prompt_carry, self.prompt_quantiles), (self.output_carry, self.output_quantiles)):
            found.append(self._quantiles(carry.keys, carry.counts))
        self._window_max(self.window_carry.keys, self.window_carry.counts)
        if not self.models:
            raise InputError(self.source, "served_model", self.options.served_model,
                             f"no request of the trace is for this served model; it has {sorted(self.left_out)}")


# ---------------------------------------------------------------------------------------------
# Tables and the summary
# ---------------------------------------------------------------------------------------------
def _group_table(acc: _Accumulator) -> pd.DataFrame:
    """One row per (period, model) with requests: sums, exact means and M2 merged over chunks
    (Chan et al.: M2 = Σ M2_i + n_i (mean_i − mean)²), quantiles, largest window."""
    parts = pd.concat([pd.DataFrame(p) for p in acc.partials], ignore_index=True)
    sums = parts.groupby("group").agg(n=("n", "sum"), sum_input=("sum_input", "sum"), sum_cached=("sum_cached", "sum"),
                                      sum_output=("sum_output", "sum"))
    parts = parts.join(sums[["n"]].rename(columns={"n": "n_total"}), on="group")
    for name, total in (("prompt", "sum_input"), ("out", "sum_output")):
        mean = (sums[total] / sums["n"]).rename("mean")
        parts = parts.join(mean.rename(f"gmean_{name}"), on="group")
        parts[f"c_{name}"] = parts[f"m2_{name}"] + parts["n"] * (parts[f"mean_{name}"] - parts[f"gmean_{name}"]) ** 2
        sums[f"mean_{name}"] = mean
        sums[f"m2_{name}"] = parts.groupby("group")[f"c_{name}"].sum()
    for name, found in (("prompt", acc.prompt_quantiles), ("out", acc.output_quantiles)):
        groups = np.concatenate([g for g, _ in found])
        values = np.concatenate([v for _, v in found])
        frame = pd.DataFrame(values, index=groups, columns=[f"{name}_p{num}" for num, _ in QUANTILES])
        sums = sums.join(frame)
    if acc.window_max:
        peaks = pd.DataFrame({"group": np.concatenate([g for g, _ in acc.window_max]),
                              "peak": np.concatenate([c for _, c in acc.window_max])}).groupby("group")["peak"].max()
        sums = sums.join(peaks)
    else:
        sums["peak"] = np.nan
    sums["period"] = sums.index // MAX_MODELS
    sums["model"] = sums.index % MAX_MODELS
    return sums


def _scv(m2: pd.Series | float, n, mean) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return (m2 / n) / (mean * mean)


def _outputs(acc: _Accumulator, options: TraceDemandOptions, prompts_file: str, demand_file: str) -> TraceDemand:
    groups = _group_table(acc)
    names = sorted(acc.models)
    model_index = {name: acc.models[name] for name in names}
    periods = acc.max_period + 1
    period_s = options.period_s
    offset = acc.origin_offset_s or 0.0
    start = acc.first.start
    origin = pd.Timestamp(acc.origin_ns, unit="ns", tz="UTC")
    origin = origin if start.tz is not None else origin.tz_localize(None)
    span_s = acc.last_s
    # the full grid: every period, every model, in period then model-name order
    grid = pd.DataFrame([(p, name, model_index[name]) for p in range(periods) for name in names],
                        columns=["period", "served_model", "model"])
    grid["group"] = grid["period"] * MAX_MODELS + grid["model"]
    table = grid.join(groups.drop(columns=["period", "model"]), on="group")
    n = table["n"].fillna(0).astype(np.int64)
    sources = (("input_tokens", "sum_input"), ("input_cache_hit_tokens", "sum_cached"), ("output_tokens", "sum_output"))
    # the sums as integers: the join above makes floats of the columns (exact only below 2^53)
    tokens = {c: groups[s].reindex(grid["group"].to_numpy(), fill_value=0).to_numpy(dtype=np.int64)
              for c, s in sources}
    period_start_s = table["period"].to_numpy() * period_s - offset
    covered = np.minimum(period_start_s + period_s, span_s) - np.maximum(period_start_s, 0.0)
    covered = np.maximum(covered, options.window_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        peak_to_mean = table["peak"].to_numpy() / (n.to_numpy() * options.window_s / period_s)
    peak_to_mean = np.where(n.to_numpy() > 0, peak_to_mean, np.nan)

    totals = {c: int(v.sum()) for c, v in tokens.items()}
    models_total = {name: {c: int(v[(table["served_model"] == name).to_numpy()].sum()) for c, v in tokens.items()}
                    for name in names}
    requests_total = {name: int(n[(table["served_model"] == name).to_numpy()].sum()) for name in names}
    overall = _overall(acc, groups, names, model_index)

    scaling = shape = None
    factor = 1.0
    if options.scale_to is not None and options.shape is None:
        if span_s <= 0 or totals["output_tokens"] == 0:
            raise InputError(Argument("scale_to"), "", options.scale_to,
                             f"the trace has {'no output tokens' if span_s > 0 else 'a span of 0 s'}; "
                             "a daily volume cannot be scaled from it")
        per_day = totals["output_tokens"] * SECONDS_PER_DAY / span_s
        factor = options.scale_to / per_day
        _check_scaled(totals, None, factor, Argument("scale_to"), "", options.scale_to,
                      f"a factor of {factor:.6g} on the trace's")
        scaling = {"output_tokens_per_day": options.scale_to, "trace_output_tokens_per_day": per_day,
                   "span_s": span_s, "factor": factor,
                   "statement": f"every period's tokens × {factor:.6g} = {options.scale_to:.6g} / "
                                f"({totals['output_tokens']:,} output tokens × 86,400 s / {span_s:,.3f} s), rounded "
                                "to whole tokens by largest remainders (column totals kept); stats' arrival rates × "
                                "the factor"}

    if options.shape is not None:
        demand, stats, shape = _shaped(acc, options, names, models_total, requests_total, overall, totals,
                                       table, peak_to_mean)
    else:
        if scaling is not None:
            scaled = {}
            for name in names:
                rows = (table["served_model"] == name).to_numpy()
                hits = tokens["input_cache_hit_tokens"][rows]
                scaled[name] = {"hits": apportion(hits * factor),
                                "misses": apportion((tokens["input_tokens"][rows] - hits) * factor),
                                "output": apportion(tokens["output_tokens"][rows] * factor)}
            for c in tokens:
                tokens[c] = tokens[c].copy()
            for name in names:
                rows = (table["served_model"] == name).to_numpy()
                tokens["input_cache_hit_tokens"][rows] = scaled[name]["hits"]
                tokens["input_tokens"][rows] = scaled[name]["hits"] + scaled[name]["misses"]
                tokens["output_tokens"][rows] = scaled[name]["output"]
        demand = pd.DataFrame({"period": table["period"], "served_model": table["served_model"], **tokens})
        starts = [(origin + pd.Timedelta(seconds=p * period_s)).isoformat() for p in range(periods)]
        stats = pd.DataFrame({
            "period": table["period"], "served_model": table["served_model"],
            "start": [starts[p] for p in table["period"]], "requests": n, "covered_s": covered,
            "arrival_rate_per_s": n.to_numpy() * factor / covered,
            "prompt_tokens_mean": table["mean_prompt"],
            "prompt_tokens_scv": _scv(table["m2_prompt"], n, table["mean_prompt"]),
            **{f"prompt_tokens_p{q}": table[f"prompt_p{q}"] for q, _ in QUANTILES},
            "output_tokens_mean": table["mean_out"], "output_tokens_scv": _scv(table["m2_out"], n, table["mean_out"]),
            **{f"output_tokens_p{q}": table[f"out_p{q}"] for q, _ in QUANTILES},
            "cache_hit_share": _share(table, acc.has_cached),
            "peak_to_mean_ratio": peak_to_mean, "window_s": options.window_s})
    demand = demand[list(DEMAND_COLUMNS)]
    stats = stats[list(STATS_COLUMNS)]

    largest = _largest_peak(pd.DataFrame({"peak_to_mean_ratio": peak_to_mean, "period": table["period"],
                                          "served_model": table["served_model"], "requests": n}))
    sample = pd.DataFrame({k: acc.sample[k] for k in ("row", "prompt_tokens", "output_tokens")}).sort_values("row")
    prompts = sample[["prompt_tokens", "output_tokens"]].reset_index(drop=True)
    summary = {
        "source": acc.source, "format": acc.format, "rows": acc.rows_read, "requests": acc.kept,
        "bad_rows": dict(sorted(acc.bad_rows.items())), "bad_rows_total": sum(acc.bad_rows.values()),
        "served_models": names,
        "left_out": {"served_model": options.served_model, "requests": sum(acc.left_out.values()),
                     "by_served_model": dict(sorted(acc.left_out.items()))} if acc.left_out else None,
        "start": start.isoformat(), "start_note": _start_note(start, acc.first.time_kind),
        "end": (start + pd.Timedelta(seconds=span_s)).isoformat(), "span_s": span_s,
        "first_period_start": None if shape else origin.isoformat(),
        "periods": len(demand) // len(names), "period_minutes": options.period_minutes, "window_s": options.window_s,
        "totals": {"requests": acc.kept, **totals}, "totals_by_served_model": {
            name: {"requests": requests_total[name], **models_total[name]} for name in names},
        "written_totals": {c: int(demand[c].sum()) for c in DEMAND_COLUMNS[2:]},
        "prompt_tokens": overall["all"]["prompt_tokens"], "output_tokens": overall["all"]["output_tokens"],
        "cache_hit_share": overall["all"]["cache_hit_share"],
        "by_served_model": {name: overall[name] for name in names},
        "peak_to_mean_ratio": largest,
        "quantiles": f"p50, p90, p99 from histograms with a bin per length below {EXACT_BELOW} tokens and bins "
                     f"{100 * (BIN_RATIO - 1):.1f} % wide above, reported at the bin's geometric middle: within "
                     f"{100 * (BIN_RATIO - 1):.1f} % of the exact (inverted-CDF) quantile; means and SCVs exact",
        "peak_to_mean_note": "largest window's arrivals / (period arrivals × window_s / period length): against the "
                             "period's mean rate, as the plan's rows use it",
        "scaling": scaling, "shape": shape,
        "prompts_sample": {"file": prompts_file, "rows": len(prompts), "seed": options.seed,
                           "sample_size": options.sample_size, "zero_length_prompts_skipped": acc.zero_prompts,
                           "note": "a uniform sample (without replacement) of the requests with a prompt; "
                                   f"{acc.zero_prompts:,} request(s) with an empty prompt are not in it"},
    }
    summary["suggested_instance"] = _snippet(summary, overall, names, demand_file, prompts_file, len(prompts),
                                             options, origin, shape is not None, largest)
    header = _header(summary, options)
    return TraceDemand(demand=demand, header=header, stats=stats, prompts=prompts, summary=summary)


def _share(table: pd.DataFrame, has_cached: bool) -> pd.Series:
    if not has_cached:
        return pd.Series(np.nan, index=table.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        return table["sum_cached"] / table["sum_input"].where(table["sum_input"] > 0)


def _length_stats(n: int, total: int, m2: float, histogram: np.ndarray) -> dict[str, Any]:
    if n == 0:
        return {"mean": None, "scv": None, **{f"p{q}": None for q, _ in QUANTILES}}
    mean = total / n
    nonzero = np.flatnonzero(histogram)
    quantiles = histogram_quantiles((np.zeros(len(nonzero), dtype=np.int64), nonzero, histogram[nonzero]))[0]
    return {"mean": mean, "scv": (m2 / n) / (mean * mean) if mean > 0 else None,
            **{f"p{q}": float(v) for (q, _), v in zip(QUANTILES, quantiles)}}


def _overall(acc: _Accumulator, groups: pd.DataFrame, names: list[str], model_index: dict[str, int]) -> dict:
    """Length statistics of each model and of all together: exact means and SCVs merged from the
    groups, quantiles from the whole-trace histograms."""
    out = {}
    selections = {name: groups["model"] == model_index[name] for name in names}
    selections["all"] = pd.Series(True, index=groups.index)
    for name, rows in selections.items():
        g = groups[rows]
        n = int(g["n"].sum())
        record = {"requests": n}
        for key, total, mean, m2, hists in (("prompt_tokens", "sum_input", "mean_prompt", "m2_prompt", acc.prompt_hist),
                                            ("output_tokens", "sum_output", "mean_out", "m2_out", acc.output_hist)):
            grand = g[total].sum() / n if n else 0.0
            merged = float((g[m2] + g["n"] * (g[mean] - grand) ** 2).sum())
            histogram = (hists.get(model_index[name], np.zeros(BINS, dtype=np.int64)) if name != "all"
                         else sum(hists.values()))
            record[key] = _length_stats(n, int(g[total].sum()), merged, histogram)
        record["cache_hit_share"] = (float(g["sum_cached"].sum() / g["sum_input"].sum())
                                     if acc.has_cached and g["sum_input"].sum() > 0 else None)
        out[name] = record
    return out


def _largest_peak(stats: pd.DataFrame) -> dict[str, Any] | None:
    ratios = stats["peak_to_mean_ratio"]
    if ratios.notna().sum() == 0:
        return None
    i = ratios.idxmax()
    return {"max": float(ratios[i]), "period": int(stats["period"][i]), "served_model": stats["served_model"][i],
            "requests_in_period": int(stats["requests"][i])}


def _start_note(start: pd.Timestamp, time_kind: str) -> str:
    if time_kind == "seconds":
        return "timestamps are seconds, counted from 1970-01-01T00:00:00 UTC"
    if start.tz is None:
        return "timestamps have no UTC offset; periods are floored as if they were UTC"
    return "timestamps converted to UTC"


def _shaped(acc: _Accumulator, options: TraceDemandOptions, names: list[str], models_total: dict,
            requests_total: dict, overall: dict, totals: dict, table: pd.DataFrame, peak_to_mean: np.ndarray):
    """The shape's periods, each model's column totals (trace × factor) spread in its shape."""
    shape = np.asarray(options.shape, dtype=float)
    periods = len(shape)
    with np.errstate(over="ignore"):  # a sum past the float range is refused below
        shape_total = float(shape.sum())
    days = periods * options.period_minutes / 1440.0
    if totals["output_tokens"] == 0:
        raise InputError(acc.source, "output_tokens", 0, "the trace has no output tokens: no ratio to shape")
    if options.scale_to is not None:
        total = options.scale_to * days
        how = (f"--scale-to {options.scale_to:.6g} output tokens per day × {days:g} day(s) of the shape "
               f"({periods} periods of {options.period_minutes:g} minutes)")
    else:
        total = shape_total
        how = "the shape file's own output total"
    if options.scale_to is not None:
        blame: tuple[Any, Any, Any] = (Argument("scale_to"), "", options.scale_to)
    else:
        blame = (options.shape_source or "shape", "output_tokens", shape_total)
    if not math.isfinite(total):
        raise InputError(*blame, "the shape's output tokens add up to more than a float holds")
    factor = total / totals["output_tokens"]
    _check_scaled(totals, acc.kept, factor, *blame, f"{total:.6g} output tokens for the shape, a factor of "
                  f"{factor:.6g} on the trace's")
    shares = shape / shape_total
    rows, stats_rows = [], []
    largest = {}
    for name in names:
        ratios = peak_to_mean[(table["served_model"] == name).to_numpy()]
        ratios = ratios[~np.isnan(ratios)]
        largest[name] = float(ratios.max()) if len(ratios) else np.nan
    for name in names:
        t = models_total[name]
        hits = apportion(shares * t["input_cache_hit_tokens"] * factor)
        misses = apportion(shares * (t["input_tokens"] - t["input_cache_hit_tokens"]) * factor)
        output = apportion(shares * t["output_tokens"] * factor)
        requests = apportion(shares * requests_total[name] * factor)
        rate = shares * requests_total[name] * factor / options.period_s
        o = overall[name]
        for p in range(periods):
            rows.append((p, name, int(hits[p] + misses[p]), int(hits[p]), int(output[p])))
            stats_rows.append({
                "period": p, "served_model": name, "start": "", "requests": int(requests[p]),
                "covered_s": options.period_s, "arrival_rate_per_s": rate[p],
                **{f"prompt_tokens_{k}": o["prompt_tokens"][k] for k in ("mean", "scv", "p50", "p90", "p99")},
                **{f"output_tokens_{k}": o["output_tokens"][k] for k in ("mean", "scv", "p50", "p90", "p99")},
                "cache_hit_share": o["cache_hit_share"], "peak_to_mean_ratio": largest[name],
                "window_s": options.window_s})
    demand = pd.DataFrame(rows, columns=list(DEMAND_COLUMNS)).sort_values(["period", "served_model"], kind="stable")
    stats = pd.DataFrame(stats_rows).sort_values(["period", "served_model"], kind="stable")
    record = {"file": options.shape_source, "periods": periods, "period_minutes": options.period_minutes,
              "days": days, "output_tokens": total, "factor": factor, "total_from": how,
              "statement": f"{periods} periods in the shape of {options.shape_source}'s output tokens (summed over its "
                           f"served models); each column total = the trace's × {factor:.6g} (= {total:.6g} output "
                           f"tokens from {how} / the trace's {totals['output_tokens']:,}), spread by the shape's "
                           "shares and rounded by largest remainders; stats: the trace's length distributions at each "
                           "period's arrival rate, peak_to_mean_ratio the trace's largest"}
    return demand.reset_index(drop=True), stats.reset_index(drop=True), record


def _check_scaled(totals: dict[str, int], requests: int | None, factor: float, file: Any, field_: Any, value: Any,
                  how: str) -> None:
    """Refuse a factor that would make a column total of the table (or the requests, when they are
    scaled too) 2^62 or more: such numbers do not fit the table's 64-bit integers once rounded."""
    counted = {**totals, **({} if requests is None else {"requests": requests})}
    for column, total in counted.items():
        scaled = total * factor
        if not scaled < MAX_SCALED_TOTAL:
            raise InputError(file, field_, value,
                             f"{how} {column} ({total:,}) makes {scaled:.6g}: 2^62 or more, too many for the "
                             "table's 64-bit integers")


def _snippet(summary: dict, overall: dict, names: list[str], demand_file: str, prompts_file: str, sample_rows: int,
             options: TraceDemandOptions, origin: pd.Timestamp, shaped: bool, largest: dict | None) -> dict:
    """Fields of an instance (planner/io/schema/instance.py: Horizon, DemandFile, Workload) that
    the trace fills in."""
    from ..io.prompts import MIN_PROMPTS

    horizon: dict[str, Any] = {"periods": summary["periods"], "period_hours": options.period_minutes / 60.0}
    if not shaped:
        horizon = {"start": (origin if origin.tz is not None else origin.tz_localize("UTC")).isoformat(), **horizon}
    demand: dict[str, Any] = {"file": demand_file}
    if largest is not None:  # each period's own ratio: the stats file written beside the table
        name = Path(demand_file)
        demand["peaks_file"] = f"{name.stem if name.suffix else name.name}.stats.csv"
    models = {}
    for name in names:
        o = overall[name]
        workload: dict[str, Any] = {}
        if o["prompt_tokens"]["mean"]:
            workload["mean_prompt_tokens"] = round(o["prompt_tokens"]["mean"], 3)
            if sample_rows >= MIN_PROMPTS:
                workload |= {"prompt_tokens_distribution": "empirical", "prompt_tokens_file": prompts_file,
                             "prompt_tokens_column": "prompt_tokens"}
            else:
                workload |= {"prompt_tokens_distribution": "gamma",
                             "prompt_tokens_scv": round(min(o["prompt_tokens"]["scv"] or 0.0, 100.0), 4)}
        if o["output_tokens"]["mean"]:
            workload["mean_output_tokens"] = round(o["output_tokens"]["mean"], 3)
        models[name] = {"workload": workload}
    notes = [f"demand.peaks_file gives each period its own peak-to-mean ratio in {options.window_s:g} s windows; "
             "a window no longer than the TTFT target sizes the prefill queue for the bursts it must absorb"]
    if largest is not None and largest["requests_in_period"] < 100:
        notes.append(f"the largest peak-to-mean ratio is measured on {largest['requests_in_period']} request(s): "
                     "with few arrivals it is mostly noise")
    if len(names) > 1:
        notes.append(f"{prompts_file} samples the requests of every served model together")
    if sample_rows < MIN_PROMPTS:
        notes.append(f"only {sample_rows} prompts in the sample (an empirical shape needs {MIN_PROMPTS}): gamma "
                     "with the trace's SCV instead")
    return {"horizon": horizon, "demand": demand, "served_models": models, "notes": notes}


def _header(summary: dict, options: TraceDemandOptions) -> list[str]:
    lines = [f"Built by planner demand from-trace from {summary['source']} ({summary['format']} format).",
             f"Rows read: {summary['rows']:,}; requests kept: {summary['requests']:,}; bad rows skipped: "
             f"{bad_rows_text(summary['bad_rows'])}."]
    if summary["left_out"]:
        lines.append(f"Served model {summary['left_out']['served_model']} only: {summary['left_out']['requests']:,} "
                     "request(s) of other served models left out.")
    lines.append(f"Trace start: {summary['start']} ({summary['start_note']}); end (last request): {summary['end']}.")
    if summary["shape"] is None:
        lines.append(f"Period 0 starts at {summary['first_period_start']} (the first timestamp floored to the period); "
                     f"periods of {options.period_minutes:g} minutes.")
    if summary["scaling"] is not None and summary["shape"] is None:
        lines.append(f"Scaled: {summary['scaling']['statement']}.")
    elif summary["shape"] is not None:
        lines.append(f"Shaped: {summary['shape']['statement']}.")
    else:
        lines.append("Tokens: the trace's own, every one counted once (not scaled).")
    return [f"# {line}" for line in lines]
