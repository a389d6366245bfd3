"""Compile loaded inputs into PlanningData: every per-period figure the model and the economics
read, computed once. Reads no file (the inputs hold them); checks what only the compiled
figures can tell (a promised speed no profile serves, a TTFT target no fleet meets, overlapping
price windows, training that does not fit the horizon).
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd

from ..errors import NO_VALUE, InputError
from ..io.inputs import Inputs, attributed_to_changes
from ..io.schema.instance import Instance, NodeType
from ..io.schema.profile import Commitment, Profile
from ..units import PRICE_KINDS, ROLES, SECONDS_PER_HOUR, TOKENS_PER_MTOK
from .clock import check_windows_apart, period_starts, window_share
from .data import (CommitmentData, DecodePoint, FailureRates, NodeTypeData, Penalties, PlanningData, PrefillStreams,
                   Requests, ReservedContract, ServiceLevel)
from .failures import min_units_for_failures, spare_nodes, unit_availability
from .frozen import FrozenMap, frozen_array
from .scenarios import multipliers, scenario_demand
from .slo import (kv_sequences_per_gpu, memory_capped_tokens_per_s, min_units_for_ttft, prompt_shape,
                  smallest_attainable_ttft_s, tail_speed_factor)
from .training import compile_training

#: The demand column each role serves.
ROLE_COLUMN = {"prefill": "input_tokens", "decode": "output_tokens"}


def compile_planning_data(inputs: Inputs) -> PlanningData:
    """Check what the compiled figures can tell and compute every per-period figure. An error an
    override or update explains is reported as theirs."""
    try:
        return _compile(inputs)
    except InputError as exc:
        raise attributed_to_changes(exc, inputs) from None


def _compile(inputs: Inputs) -> PlanningData:
    spec, file = inputs.spec, inputs.source
    profiles = inputs.profiles
    served = tuple(spec.served_models)
    node_types = tuple(_node_type_data(name, g) for name, g in spec.node_types.items())
    demand = dict(inputs.demand)
    if spec.demand.scale != 1.0:
        demand = {c: v * spec.demand.scale for c, v in demand.items()}
    base_starts = period_starts(spec.horizon.start, spec.horizon.periods, spec.horizon.period_hours,
                                spec.horizon.time_zone)
    demand, count = _scenario_demand(spec, demand, inputs.scenario_table)
    demand = {c: frozen_array(v) for c, v in demand.items()}
    starts = pd.DatetimeIndex(list(base_starts) * count)
    _check_harvest_bounds(spec, node_types, file)
    _check_contract_terms(spec, file)
    if count > 1 and spec.training is not None:
        raise InputError(file, "training", NO_VALUE, "training is not planned under demand scenarios (scenarios.count > 1)")
    demand_mtok = {(m, r): frozen_array(demand[ROLE_COLUMN[r]][k] / TOKENS_PER_MTOK)
                   for k, m in enumerate(served) for r in ROLES}
    contexts = {m: _context_tokens(model.workload, demand, k) for k, (m, model) in enumerate(spec.served_models.items())}
    width = demand["input_tokens"].shape[1]
    points = {(m, g): _decode_point(m, g, p, spec, contexts[m], width, file) for (m, g), p in profiles.items()}
    at_full_use = {
        key: frozen_array(arr * _unpreempted_share(spec, key[1], getattr(profile, key[2]).unit_nodes))
        for (m, g), profile in profiles.items()
        for key, arr in _unit_capacity_mtok(m, g, profile, spec, demand, served.index(m), points[(m, g)]).items()
    }
    # The capacity the plan counts on: a share of full use, held at the period's peak rate.
    peaks = _peaks(spec, inputs.peaks, count)
    capacity = {(m, g, r): frozen_array(arr * spec.served_models[m].deployments[g].target_utilization / peaks[m])
                for (m, g, r), arr in at_full_use.items()}
    unit_nodes = {(m, g, r): getattr(p, r).unit_nodes for (m, g), p in profiles.items() for r in ROLES}
    _check_unit_counts(spec, demand_mtok, capacity, file)
    minimum, smallest = _min_prefill_units(spec, profiles, demand, at_full_use, inputs.prompt_lengths, peaks, starts,
                                           file)
    prices = _period_prices(spec, starts, file)
    return PlanningData(
        name=spec.name,
        source=file,
        description=spec.description,
        periods=len(starts),
        scenarios=count,
        period_hours=spec.horizon.period_hours,
        period_starts=starts,
        node_types=node_types,
        served_models=served,
        deployments=tuple(profiles),
        unit_nodes=FrozenMap(unit_nodes),
        unit_capacity_mtok=FrozenMap(capacity),
        decode_tokens_per_s_per_node=FrozenMap({key: p.tokens_per_s_per_node for key, p in points.items()}),
        decode_points=FrozenMap(points),
        peak_to_mean_ratio=max(float(v.max()) for v in peaks.values()),
        peak_to_mean_by_period=FrozenMap(peaks),
        min_prefill_units=FrozenMap(minimum),
        ttft_smallest_attainable_s=FrozenMap(smallest),
        demand_tokens=FrozenMap(demand),
        demand_mtok=FrozenMap(demand_mtok),
        prices_usd_per_mtok=FrozenMap(prices),
        penalties=Penalties(**spec.penalties.model_dump()),
        solver=spec.solver,
        service_levels=FrozenMap({m: ServiceLevel(**model.slo.model_dump()) for m, model in spec.served_models.items()}),
        calibrations=FrozenMap({(m, g): d.calibration.strip() for m, model in spec.served_models.items()
                                for g, d in model.deployments.items()}),
        reference=inputs.reference,
        training=compile_training(spec.training, tuple(spec.node_types), base_starts, spec.horizon.period_hours, file),
        scenario_slo_share=spec.scenarios.slo_share,
        day_ahead=spec.scenarios.day_ahead,
        availability_units=FrozenMap(_availability_units(spec, unit_nodes, demand_mtok, capacity)),
        unit_availability=FrozenMap({key: unit_availability(spec.failures, u) for key, u in unit_nodes.items()}
                                    if spec.failures else {}),
        spare_ratio=FrozenMap(_spare_ratio(spec, unit_nodes, demand_mtok, capacity)),
        spare_floor=FrozenMap(_spare_floor(spec, unit_nodes, demand_mtok, capacity)),
        commitment=FrozenMap({key: _commitment(p.commitment, spec.horizon.period_hours)
                              for key, p in profiles.items() if p.commitment is not None}),
        prefill_streams=FrozenMap(_prefill_streams(spec, profiles, at_full_use)),
        requests=FrozenMap(_requests(spec, demand, inputs.prompt_lengths)),
        failure_rates=None if spec.failures is None else FailureRates(
            spec.failures.node_failures_per_hour, spec.failures.repair_hours, spec.failures.swap_hours,
            spec.failures.unit_failures_per_hour, spec.failures.unit_restart_hours, spec.failures.rack_nodes,
            spec.failures.rack_failures_per_hour, spec.failures.rack_repair_hours),
    )


def _peaks(spec: Instance, table: np.ndarray | None, scenarios: int) -> dict[str, np.ndarray]:
    """Each served model's peak-to-mean ratio per period (section 3): the instance's one ratio, or
    its peaks file's, repeated for every demand scenario."""
    periods = spec.horizon.periods
    return {m: frozen_array(np.full(periods * scenarios, spec.demand.peak_to_mean_ratio) if table is None
                            else np.tile(table[k], scenarios))
            for k, m in enumerate(spec.served_models)}


def _unpreempted_share(spec: Instance, g: str, unit_nodes: int) -> float:
    """The expected share of a period a unit of `unit_nodes` spot nodes of type g serves (section
    3): preempted at rate u mu (any of its u nodes), lost for the rest of the period,
    E[min(T, Delta)] / Delta = (1 - e^{-u mu Delta}) / (u mu Delta) with T ~ Exp(u mu); 1 when
    mu = 0."""
    mu = spec.node_types[g].preemptions_per_node_hour
    if mu == 0:
        return 1.0
    rate = unit_nodes * mu * spec.horizon.period_hours
    return float(-np.expm1(-rate) / rate)


def _prefill_streams(spec: Instance, profiles: Mapping[tuple[str, str], Profile],
                     at_full_use: Mapping[tuple[str, str, str], np.ndarray]) -> dict[tuple[str, str], PrefillStreams]:
    """A prefill unit's streams and the seconds a stream takes per input token in each period:
    k / (the unit's input tokens/s at full use), as the TTFT queue takes them (section 8)."""
    seconds = SECONDS_PER_HOUR * spec.horizon.period_hours
    out = {}
    for (m, g), profile in profiles.items():
        k = profile.prefill.servers_per_unit
        tokens_per_s = at_full_use[(m, g, "prefill")] * TOKENS_PER_MTOK / seconds
        with np.errstate(divide="ignore"):
            out[(m, g)] = PrefillStreams(k, frozen_array(np.where(tokens_per_s > 0, k / tokens_per_s, np.inf)))
    return out


def _requests(spec: Instance, demand: Mapping[str, np.ndarray],
              prompt_lengths: Mapping[str, np.ndarray]) -> dict[str, Requests]:
    """Per served model with a workload: its prompt lengths and each period's mean output, the
    workload's or the period's output tokens per request (input tokens / mean prompt)."""
    out = {}
    for k, (m, model) in enumerate(spec.served_models.items()):
        w = model.workload
        if w is None:
            continue
        if w.mean_output_tokens is not None:
            output = np.full(demand["output_tokens"].shape[1], float(w.mean_output_tokens))
        else:
            requests = demand["input_tokens"][k] / w.mean_prompt_tokens
            with np.errstate(divide="ignore", invalid="ignore"):
                output = np.where(requests > 0, demand["output_tokens"][k] / requests, 0.0)
        out[m] = Requests(float(w.mean_prompt_tokens), w.prompt_tokens_distribution, float(w.prompt_tokens_scv),
                          prompt_lengths.get(m), frozen_array(output))
    return out


def _periods(hours: float, period_hours: float) -> int:
    """Whole periods covering `hours` (at least 1)."""
    return max(1, math.ceil(hours / period_hours - 1e-9))


def _commitment(c: Commitment, period_hours: float) -> CommitmentData:
    """A deployment's commitment in periods: forming times as shares of a period (at most 1)."""
    share = lambda minutes: min(minutes / 60.0 / period_hours, 1.0)  # noqa: E731
    convert_minutes = c.start_minutes if c.convert_minutes is None else c.convert_minutes
    return CommitmentData(
        start_share=share(c.start_minutes),
        start_usd_per_node=c.start_usd_per_node,
        convert_share=share(convert_minutes),
        convert_usd_per_node=c.start_usd_per_node if c.convert_usd_per_node is None else c.convert_usd_per_node,
        min_up_periods=_periods(c.min_up_hours, period_hours),
        min_down_periods=_periods(c.min_down_hours, period_hours),
    )


def _node_type_data(name: str, g: NodeType) -> NodeTypeData:
    owned, rental = g.owned, g.rental
    return NodeTypeData(
        name=name,
        gpus_per_node=g.gpus_per_node,
        owned_usd_per_node_hour=(owned.usd_per_gpu_hour * g.gpus_per_node) if owned else 0.0,
        owned_min_nodes=owned.min_nodes if owned else 0,
        owned_max_nodes=owned.max_nodes if owned else 0,
        rental_usd_per_node_hour=(rental.usd_per_gpu_hour * g.gpus_per_node) if rental else 0.0,
        rental_max_nodes=rental.max_nodes if rental else 0,
        ownable=owned is not None,
        description=g.description,
        reserved=tuple(ReservedContract(c.name, c.term_hours, c.usd_per_gpu_hour * g.gpus_per_node, c.max_nodes)
                       for c in g.reserved),
        rental_lead_hours=rental.lead_hours if rental else 0.0,
    )


def _check_harvest_bounds(spec: Instance, node_types: tuple[NodeTypeData, ...], file: str) -> None:
    """A harvest worth more than a node costs grows without bound on a fleet without limits."""
    for g, harvest in (spec.training.harvest.items() if spec.training else ()):
        node = next((n for n in node_types if n.name == g), None)
        if node is not None and harvest.max_nodes is None and (node.owned_max_nodes is None or node.rental_max_nodes is None):
            raise InputError(file, f"training.harvest.{g}.max_nodes", None,
                             f"required when node type {g}'s fleet has no limit (owned or rental max_nodes "
                             "missing): a harvest worth more than a node costs would grow without bound")


#: The most units of one deployment a period may need: HiGHS represents integers and coefficients in
#: double precision with tolerances near 1e-6 relative, so counts far above this are planned on
#: rounding, not arithmetic ("optimal" plans serving nothing at demand.scale = 1e9, issue 19).
MAX_UNITS_PER_PERIOD = 1_000_000


def _check_unit_counts(spec: Instance, demand_mtok: Mapping[tuple[str, str], np.ndarray],
                       capacity: Mapping[tuple[str, str, str], np.ndarray], file: str) -> None:
    """Refuse demand that needs more units than the solver can count exactly."""
    for (m, g, r), c in capacity.items():
        with np.errstate(divide="ignore", invalid="ignore"):
            units = np.where(c > 0, np.asarray(demand_mtok[(m, r)]) / c, 0.0)
        if units.size and np.nanmax(units) > MAX_UNITS_PER_PERIOD:
            t = int(np.nanargmax(units))
            field, value = ("demand.scale", spec.demand.scale) if spec.demand.scale != 1.0 else ("demand.file",
                                                                                               spec.demand.file)
            raise InputError(file, field, value,
                             f"period {t} needs {units[t]:.3g} {r} units of {m} on {g}, beyond the "
                             f"{MAX_UNITS_PER_PERIOD:,} a solver can count exactly; plan a smaller volume or "
                             "larger units")


def _check_contract_terms(spec: Instance, file: str) -> None:
    """A reserved term holds whole periods: one shorter than a period would hold none."""
    for g, node in spec.node_types.items():
        for k, contract in enumerate(node.reserved):
            if contract.term_hours < spec.horizon.period_hours - 1e-9:
                raise InputError(file, f"node_types.{g}.reserved[{k}].term_hours", contract.term_hours,
                                 f"shorter than a period ({spec.horizon.period_hours:g} h): a term holds whole periods")


def _scenario_demand(spec: Instance, demand: dict[str, np.ndarray],
                     table: Mapping[str, np.ndarray] | None) -> tuple[dict[str, np.ndarray], int]:
    """The demand of every scenario, stacked as blocks of periods, and the number of scenarios."""
    scenarios = spec.scenarios
    if table is not None:
        return dict(table), table["input_tokens"].shape[1] // spec.horizon.periods
    if scenarios.count == 1 and not (scenarios.level_sd or scenarios.hourly_sd or scenarios.burst_probability):
        return demand, 1
    factors = multipliers(scenarios, spec.horizon.periods)
    return scenario_demand(demand, factors), scenarios.count


def _needed_units(demand_mtok: np.ndarray, capacity_mtok: np.ndarray) -> np.ndarray:
    """Whole units serving a period's demand with every unit up: ceil(D / c)."""
    return np.ceil(demand_mtok / capacity_mtok - 1e-9)


def _availability_units(spec: Instance, unit_nodes: Mapping[tuple[str, str, str], int],
                        demand_mtok: Mapping[tuple[str, str], np.ndarray],
                        capacity: Mapping[tuple[str, str, str], np.ndarray]) -> dict[tuple[str, str, str], np.ndarray]:
    """Units to provision per period so that ceil(D/c) of them are up with the target probability
    (failures.min_units_for_availability); empty without a `failures` section."""
    if spec.failures is None:
        return {}
    out = {}
    for (m, g, r), unit in unit_nodes.items():
        needed = _needed_units(demand_mtok[(m, r)], capacity[(m, g, r)])
        out[(m, g, r)] = frozen_array(min_units_for_failures(spec.failures, unit, needed))
    return out


def _spare_ratio(spec: Instance, unit_nodes: Mapping[tuple[str, str, str], int],
                 demand_mtok: Mapping[tuple[str, str], np.ndarray],
                 capacity: Mapping[tuple[str, str, str], np.ndarray]) -> dict[str, float]:
    """Spare nodes per node in service, per node type: the spare pool (failures.spare_nodes) of the
    busiest period's nodes, as a ratio; {} without swaps."""
    if spec.failures is None or spec.failures.swap_hours is None:
        return {}
    peak: dict[str, float] = {}
    for g, n in _nodes_needed(unit_nodes, demand_mtok, capacity).items():
        peak[g] = float(np.max(n))
    return {g: spare_nodes(spec.failures, n) / n for g, n in peak.items() if n > 0}


def _spare_floor(spec: Instance, unit_nodes: Mapping[tuple[str, str, str], int],
                 demand_mtok: Mapping[tuple[str, str], np.ndarray],
                 capacity: Mapping[tuple[str, str, str], np.ndarray]) -> dict[str, np.ndarray]:
    """Per node type that alone serves every model deployed on it, the spare pool of each
    period's own nodes (the ratio, read at the peak, falls short where a pool's steps, a rack's R
    nodes, weigh on a smaller fleet); {} without swaps."""
    if spec.failures is None or spec.failures.swap_hours is None:
        return {}
    served_on: dict[str, set[str]] = {}
    for (m, g, r) in unit_nodes:
        served_on.setdefault(m, set()).add(g)
    floor = {}
    for g, n in _nodes_needed(unit_nodes, demand_mtok, capacity).items():
        if all(types == {g} for m, types in served_on.items() if g in types):
            pools = {c: spare_nodes(spec.failures, float(c)) for c in np.unique(n)}
            floor[g] = frozen_array(np.array([pools[c] for c in n], dtype=float))
    return floor


def _nodes_needed(unit_nodes: Mapping[tuple[str, str, str], int], demand_mtok: Mapping[tuple[str, str], np.ndarray],
                  capacity: Mapping[tuple[str, str, str], np.ndarray]) -> dict[str, np.ndarray]:
    """n_{g,t}: per node type and period, the largest node count one served model needs on it
    with every unit up (each served model's prefill and decode units together)."""
    nodes: dict[tuple[str, str], np.ndarray] = {}
    for (m, g, r), unit in unit_nodes.items():
        nodes[(m, g)] = nodes.get((m, g), 0) + unit * _needed_units(demand_mtok[(m, r)], capacity[(m, g, r)])
    busiest: dict[str, np.ndarray] = {}
    for (m, g), n in nodes.items():
        busiest[g] = np.maximum(busiest.get(g, 0.0), np.asarray(n, dtype=float))
    return busiest


def _decode_point(m: str, g: str, profile: Profile, spec: Instance, context_tokens: np.ndarray | None,
                  periods: int, file: str) -> DecodePoint:
    """Where a decode node of deployment (m, g) runs (section 3): the profile's operating point at
    the served model's promised speed (at a faster mean speed for a TPOT percentile, when the
    profile gives the step time's spread) x decode_capacity_factor, and the KV-memory limit of
    its GPUs in every period (when the profile gives memory figures and the model a workload)."""
    slo = spec.served_models[m].slo
    speed = slo.decode_tokens_per_s_per_user
    factor = 1.0
    if slo.decode_speed_percentile is not None and profile.decode.step_time_cv is not None:
        factor = tail_speed_factor(profile.decode.step_time_cv, slo.decode_speed_percentile)
    mean_speed = None if speed is None else speed * factor
    rate = profile.decode.throughput_at(mean_speed)
    if rate is None:
        fastest = profile.decode.fastest_speed()
        tail = f" (mean {mean_speed:g} for the TPOT percentile)" if factor != 1.0 else ""
        if fastest is None:
            problem = f"profile {profile.name} does not say at which per-user speed it was measured"
        elif profile.decode.operating_points:
            problem = (f"faster{tail} than profile {profile.name} can serve (its fastest operating point is "
                       f"{fastest:g} tokens/s per user)")
        else:
            problem = (f"faster{tail} than profile {profile.name} was measured at ({fastest:g} tokens/s per user) "
                       "and it has no operating_points for faster speeds")
        raise InputError(file, f"served_models.{m}.slo.decode_tokens_per_s_per_user", speed, problem)
    rate *= spec.served_models[m].deployments[g].decode_capacity_factor
    running = mean_speed if mean_speed is not None else profile.decode.tokens_per_s_per_user
    if running is not None and profile.decode.operating_points:
        running = max(running, profile.decode.operating_points[0].tokens_per_s_per_user)  # no bigger batch below
    memory = profile.decode.memory
    limit = None
    capped = np.full(periods, rate)
    if memory is not None and context_tokens is not None and running is not None:
        limit = frozen_array(kv_sequences_per_gpu(memory.kv_cache_gb_per_gpu * 1e9, memory.kv_bytes_per_token,
                                                  context_tokens))
        capped = memory_capped_tokens_per_s(rate, running, profile.gpus_per_node, limit, profile.decode.fixed_step_s)
    return DecodePoint(
        tokens_per_s_per_node=rate,
        mean_tokens_per_s_per_user=running,
        tail_factor=factor,
        sequences_per_gpu=None if running is None else rate / (profile.gpus_per_node * running),
        kv_sequences_per_gpu_limit=limit,
        tokens_per_s_per_node_by_period=frozen_array(capped),
        fixed_step_s=profile.decode.fixed_step_s,
    )


def _context_tokens(workload, demand: Mapping[str, np.ndarray], k: int) -> np.ndarray | None:
    """Mean context a decode sequence holds per period: prompt + half the output (section 3).
    The output is the workload's, or each period's from the demand (prompt x output / input)."""
    if workload is None:
        return None
    prompt = workload.mean_prompt_tokens
    if workload.mean_output_tokens is not None:
        return np.full(demand["input_tokens"].shape[1], prompt + workload.mean_output_tokens / 2.0)
    inputs, outputs = demand["input_tokens"][k], demand["output_tokens"][k]
    overall = outputs.sum() / inputs.sum() if inputs.sum() > 0 else 0.0
    ratio = np.divide(outputs, inputs, out=np.full_like(inputs, overall), where=inputs > 0)
    return prompt * (1.0 + ratio / 2.0)


def _min_prefill_units(spec: Instance, profiles: Mapping[tuple[str, str], Profile],
                       demand: Mapping[str, np.ndarray], capacity: Mapping[tuple[str, str, str], np.ndarray],
                       prompt_lengths: Mapping[str, np.ndarray], peaks: Mapping[str, np.ndarray],
                       starts: pd.DatetimeIndex, file: str
                       ) -> tuple[dict[tuple[str, str], np.ndarray], dict[str, float]]:
    """Fewest prefill units per period meeting each served model's TTFT percentile (slo.py,
    formulation.md section 8), and the smallest target each model could meet in every period.

    Requests per second at the period's peak, lambda_t = rho_{m,t} input_tokens_t / mean_prompt_tokens
    / (3600 period_hours). A unit prefills k = servers_per_unit prompts side by side (its DP ranks),
    each at 1/k of the unit's input tokens/s at full use at period t's cache-hit mix, so a mean
    prompt takes S_t = k mean_prompt_tokens / unit_tokens_per_s_t; prompt lengths spread as the
    workload says. The queue's servers are these streams; the units needed are ceil(servers / k).
    Zero without a TTFT target; -1 where a type cannot meet it. A period no type can serve within
    the target is refused under hard limits (`penalties.allow_unserved: false`).
    """
    seconds = SECONDS_PER_HOUR * spec.horizon.period_hours
    out, smallest = {}, {}
    for k, (m, model) in enumerate(spec.served_models.items()):
        deployed = [g for (mm, g) in profiles if mm == m]
        if model.slo.ttft_s is None:
            out.update({(m, g): frozen_array(np.zeros(demand["input_tokens"].shape[1])) for g in deployed})
            continue
        workload, target, q = model.workload, model.slo.ttft_s, model.slo.ttft_percentile
        shape = prompt_shape(workload.prompt_tokens_distribution, workload.prompt_tokens_scv, prompt_lengths.get(m))
        arrivals = peaks[m] * demand["input_tokens"][k] / workload.mean_prompt_tokens / seconds
        best = np.full(len(arrivals), np.inf)
        for g in deployed:
            streams = profiles[(m, g)].prefill.servers_per_unit
            service = streams * workload.mean_prompt_tokens / (capacity[(m, g, "prefill")] * TOKENS_PER_MTOK / seconds)
            servers = min_units_for_ttft(arrivals, service, shape, target, q)
            out[(m, g)] = frozen_array(np.where(servers < 0, -1, np.ceil(servers / streams)))
            best = np.minimum(best, smallest_attainable_ttft_s(service, shape, q))
        busy = arrivals > 0
        smallest[m] = float(best[busy].max()) if busy.any() else 0.0
        unattainable = busy & np.all([out[(m, g)] < 0 for g in deployed], axis=0)
        if unattainable.any() and not spec.penalties.allow_unserved:
            first = int(np.flatnonzero(unattainable)[0])
            raise InputError(file, f"served_models.{m}.slo.ttft_s", target,
                             f"below the p{q * 100:g} of the prefill time alone in {int(unattainable.sum())} of "
                             f"{int(busy.sum())} periods (first {starts[first]:%Y-%m-%d %H:%M}); no number of units "
                             f"meets it, and penalties.allow_unserved is false. The smallest target every period "
                             f"can meet is {smallest[m]:.3g} s")
    return out, smallest


def _unit_capacity_mtok(m: str, g: str, profile: Profile, spec: Instance, demand: Mapping[str, np.ndarray],
                        k: int, decode: DecodePoint) -> dict[tuple[str, str, str], np.ndarray]:
    """Tokens one unit serves in one period, in millions.

    Decode: u_d * (output tokens/s per node at the SLO, calibrated, capped by KV memory in the
    period) * 3600 * period_hours / 1e6.
    Prefill: the profile's rate was measured at a cache-hit share s_ref, where a token costs
    w_ref = (1 - s_ref) + h * s_ref cache-miss equivalents; in period t the share is s_t and a
    token costs w_t, so the unit serves u_p * rate * factor * 3600 * period_hours / 1e6 * w_ref / w_t.
    """
    deployment = spec.served_models[m].deployments[g]
    seconds = SECONDS_PER_HOUR * spec.horizon.period_hours
    h = profile.prefill.cache_hit_relative_cost
    inputs = demand["input_tokens"][k]
    hits = demand["input_cache_hit_tokens"][k]
    s_ref = profile.prefill.cache_hit_share_at_measurement
    share = np.divide(hits, inputs, out=np.full_like(inputs, s_ref), where=inputs > 0)
    w_t = (1.0 - share) + h * share
    w_ref = profile.prefill_miss_equivalents_per_token_at_measurement()
    prefill = (profile.prefill.unit_nodes * profile.prefill.input_tokens_per_s_per_node
               * deployment.prefill_capacity_factor * seconds / TOKENS_PER_MTOK) * w_ref / w_t
    decode = profile.decode.unit_nodes * np.asarray(decode.tokens_per_s_per_node_by_period) * seconds / TOKENS_PER_MTOK
    return {(m, g, "prefill"): prefill, (m, g, "decode"): decode}


def _period_prices(spec: Instance, starts: pd.DatetimeIndex, file: str) -> dict[str, np.ndarray]:
    """Per-period prices in USD per million tokens: list prices, time-weighted with windows."""
    out = {kind: np.zeros((len(spec.served_models), len(starts))) for kind in PRICE_KINDS}
    for k, (m, model) in enumerate(spec.served_models.items()):
        listed = model.prices_usd_per_million_tokens
        check_windows_apart(model.price_windows, file, f"served_models.{m}.price_windows")
        for kind in PRICE_KINDS:
            out[kind][k] = getattr(listed, kind)
        for window in model.price_windows:
            share = window_share(starts, spec.horizon.period_hours, window.start, window.end)
            for kind in PRICE_KINDS:
                out[kind][k] += share * (getattr(window.prices, kind) - getattr(listed, kind))
    return {kind: frozen_array(v) for kind, v in out.items()}
