"""Served-model x hardware profiles (models/*.yaml): what one node type does for one served model."""

from __future__ import annotations

from typing import Annotated, Sequence

import numpy as np
from pydantic import Field, model_validator

from ..validation import Strict
from .common import NonNegative, Positive, Share, Sourced, described


def interpolate_operating_point(speeds: Sequence[float], throughputs: Sequence[float], speed: float) -> float | None:
    """Output tokens/s per node at a per-user `speed` from an operating-point table.

    `speeds` strictly increasing, `throughputs` non-increasing. Linear between points; a speed
    slower than the slowest point gets the slowest point's throughput (a node cannot batch
    more than its memory holds); a speed faster than the fastest point is not attainable: None.
    """
    if speed > speeds[-1] + 1e-12:
        return None
    if speed <= speeds[0]:
        return float(throughputs[0])
    return float(np.interp(speed, speeds, throughputs))


class PrefillProfile(Strict):
    """Prefill: input tokens processed per second by one node, measured at a cache-hit share."""

    unit_nodes: Annotated[int, Field(ge=1)] = described(
        "u_prefill: nodes in one prefill unit, the smallest deployable block (expert parallelism spans it).",
        unit="nodes")
    input_tokens_per_s_per_node: Positive = described(
        "ρ_prefill: the measured rate, all input tokens, cache hits included, at the cache-hit share "
        "`cache_hit_share_at_measurement`.", unit="input tokens/s per node")
    cache_hit_share_at_measurement: Share = described(
        "s_ref: share of input tokens that hit the cache when the rate was measured.", unit="share of input")
    cache_hit_relative_cost: Annotated[float, Field(gt=0, le=1)] = described(
        "h: prefill work of one cache-hit token, in cache-miss tokens (a hit still loads its KV cache).",
        unit="cache-miss tokens")
    servers_per_unit: Annotated[int, Field(ge=1)] = described(
        "k: prompts one unit prefills side by side (its data-parallel ranks), each at 1/k of the unit's rate. The "
        "servers of the TTFT queue are these streams (formulation.md, section 8). Read only when a served model "
        "has a TTFT target.", 1, unit="prompts at a time")


class OperatingPoint(Strict):
    """What one decode node generates when each user sees `tokens_per_s_per_user`."""

    tokens_per_s_per_user: Positive = described("A per-user decode speed v.", unit="output tokens/s per user")
    output_tokens_per_s_per_node: Positive = described("What one node generates when every user sees v.",
                                                       unit="output tokens/s per node")


class DecodeMemory(Sourced):
    """What a decode GPU's memory holds beside the KV cache, and what one token of KV costs."""

    hbm_gb_per_gpu: Positive = described("GPU memory.", unit="GB (10^9 bytes) per GPU")
    weights_gb_per_gpu: NonNegative = described("Model weights resident on one GPU of a decode unit.",
                                                unit="GB per GPU")
    reserved_gb_per_gpu: NonNegative = described(
        "Memory neither weights nor KV cache: activations, CUDA graphs, communication buffers.", unit="GB per GPU")
    kv_bytes_per_token: Positive = described("KV-cache bytes one token of context takes on a GPU.",
                                             unit="bytes per token")

    @model_validator(mode="after")
    def _room_for_a_cache(self) -> DecodeMemory:
        if self.kv_cache_gb_per_gpu <= 0:
            raise ValueError(f"weights_gb_per_gpu + reserved_gb_per_gpu ({self.weights_gb_per_gpu + self.reserved_gb_per_gpu:g}) "
                             f"leave no room for a KV cache in hbm_gb_per_gpu ({self.hbm_gb_per_gpu:g})")
        return self

    @property
    def kv_cache_gb_per_gpu(self) -> float:
        return self.hbm_gb_per_gpu - self.weights_gb_per_gpu - self.reserved_gb_per_gpu


class DecodeProfile(Strict):
    """Decode: output tokens generated per second by one node, measured at a per-user speed.

    `operating_points` (optional) give the throughput at other speeds; they must pass through
    the measured point, speeds strictly increasing and throughputs not increasing.
    """

    unit_nodes: Annotated[int, Field(ge=1)] = described("u_decode: nodes in one decode unit.", unit="nodes")
    output_tokens_per_s_per_node: Positive = described(
        "The measured throughput: output tokens one node generates per second; ρ_decode when the served model "
        "promises no speed.", unit="output tokens/s per node")
    tokens_per_s_per_user: Positive | None = described(
        "The per-user speed at which `output_tokens_per_s_per_node` was measured. Needed for any "
        "`slo.decode_tokens_per_s_per_user` and for `operating_points`. `null`: not stated (no speed can be "
        "promised).", None, unit="output tokens/s per user")
    operating_points: list[OperatingPoint] = described(
        "Throughput at other per-user speeds, through the measured point. Empty: the measured point only.", [])
    fixed_step_s: Annotated[float, Field(gt=0, lt=1)] | None = described(
        "τ_0: the part of a decode step that does not grow with the batch (step time τ(b) = τ_0 + k b, section 3). "
        "Tells how fast users see tokens when KV memory caps the batch below an operating point's. `null`: "
        "not stated (a memory-capped point keeps its speed: a lower bound).", None, unit="seconds")
    step_time_cv: NonNegative | None = described(
        "Coefficient of variation of a decode step's time (lognormal): for a TPOT percentile "
        "(`slo.decode_speed_percentile`). `null`: not stated; speeds are means.", None)
    memory: DecodeMemory | None = described(
        "Memory of a decode GPU: with a workload, caps the sequences a GPU holds (section 3, KV memory). "
        "`null`: no KV-memory limit is modelled.", None)

    @model_validator(mode="after")
    def _table_is_monotone_and_holds_the_measured_point(self) -> "DecodeProfile":
        points = self.operating_points
        if not points:
            return self
        if self.tokens_per_s_per_user is None:
            raise ValueError("operating_points need tokens_per_s_per_user, the speed of the measured point")
        for before, after in zip(points, points[1:]):
            if after.tokens_per_s_per_user <= before.tokens_per_s_per_user:
                raise ValueError("operating_points must have strictly increasing tokens_per_s_per_user")
            if after.output_tokens_per_s_per_node > before.output_tokens_per_s_per_node:
                raise ValueError("operating_points must not gain throughput at a faster per-user speed")
        if self.tokens_per_s_per_user > points[-1].tokens_per_s_per_user:
            raise ValueError(f"the measured speed {self.tokens_per_s_per_user} tokens/s per user is faster than "
                             f"the fastest operating point ({points[-1].tokens_per_s_per_user})")
        at_anchor = self.throughput_at(self.tokens_per_s_per_user)
        if abs(at_anchor / self.output_tokens_per_s_per_node - 1) > 0.005:
            raise ValueError(f"operating_points give {at_anchor:g} tokens/s per node at "
                             f"{self.tokens_per_s_per_user} tokens/s per user, not the measured "
                             f"{self.output_tokens_per_s_per_node:g}")
        return self

    def throughput_at(self, speed: float | None) -> float | None:
        """Output tokens/s per node at a per-user speed (None: the measured point); None when the
        speed is faster than the table's fastest point (or than the measured speed, without a table)."""
        if speed is None or speed == self.tokens_per_s_per_user:
            return self.output_tokens_per_s_per_node
        if not self.operating_points:
            measured = self.tokens_per_s_per_user
            return self.output_tokens_per_s_per_node if measured is not None and speed <= measured else None
        return interpolate_operating_point([p.tokens_per_s_per_user for p in self.operating_points],
                                           [p.output_tokens_per_s_per_node for p in self.operating_points], speed)

    def fastest_speed(self) -> float | None:
        if self.operating_points:
            return self.operating_points[-1].tokens_per_s_per_user
        return self.tokens_per_s_per_user


class Commitment(Sourced):
    """What it takes to form a serving unit of this deployment (its expert-parallel group): weights
    loaded, communication groups built, graphs captured. Read by the family `unit_commitment`."""

    start_minutes: Annotated[float, Field(ge=0, le=24 * 60)] = described(
        "Time a unit takes to form from idle nodes, capacity unavailable meanwhile: a unit started in a "
        "period serves (1 − φ_start) of it, φ_start = `start_minutes` / 60 / Δ (at most 1).", unit="minutes")
    start_usd_per_node: NonNegative = described(
        "Cost of forming a unit from idle nodes beyond the time it takes, per node of the unit.", 0.0,
        unit="USD per node started")
    convert_minutes: Annotated[float, Field(ge=0, le=24 * 60)] | None = described(
        "Time to re-form nodes leaving a unit of the other role of the same served model (prefill ↔ decode) "
        "in the same period: the weights are the same model's. `null`: `start_minutes`.", None,
        unit="minutes")
    convert_usd_per_node: NonNegative | None = described(
        "Cost of such a conversion per node; `null`: `start_usd_per_node`. A node switching to another "
        "served model loads that model's weights: it is a start of that model's deployment.", None,
        unit="USD per node converted")
    min_up_hours: NonNegative = described(
        "A unit, once formed, serves at least this long (plans that do not oscillate).", 0.0, unit="hours")
    min_down_hours: NonNegative = described(
        "A unit slot stopped stays stopped at least this long (up to the most units the deployment can run).",
        0.0, unit="hours")


class Profile(Strict):
    """One served model on one node type. Throughputs are per node, in tokens per second."""

    name: str = described(
        "Must be `served_model@node_type`, built from the two fields `served_model` and `node_type`, and equal "
        "the file name without `.yaml`.")
    served_model: str = described("The served model's architecture (forms the name only).")
    node_type: str = described("The node type (forms the name only).")
    gpus_per_node: Annotated[int, Field(ge=1)] = described(
        "GPUs per node; must equal the instance node type's `gpus_per_node`.", unit="GPUs")
    prefill: PrefillProfile = described("Prefill: input tokens per second, measured at a cache-hit share.")
    decode: DecodeProfile = described("Decode: output tokens per second, at per-user speeds.")
    commitment: Commitment | None = described(
        "Forming a unit: time, cost, minimum up and down times. `null`: units start and stop free and at once.",
        None)
    sources: Annotated[list[str], Field(min_length=1)] = described("Where each figure comes from.")
    notes: str = described("Free text.", "")

    def prefill_miss_equivalents_per_token_at_measurement(self) -> float:
        """Prefill work of one token at the measured mix, in cache-miss tokens: (1 - s) + h s."""
        s = self.prefill.cache_hit_share_at_measurement
        return (1.0 - s) + self.prefill.cache_hit_relative_cost * s
