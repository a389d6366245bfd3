"""Unit commitment: start-up cost and time, minimum up time, prefill <-> decode conversions.

Fixture units: a 1-node decode unit serves 0.36 M output tokens an hour and a 1-node prefill unit
3.6 M input tokens (tests/conftest.tiny_profile); the horizon repeats (period 0 follows the last).
"""

from __future__ import annotations

import pytest

from planner.api import solve_instance

from .conftest import tiny_instance, tiny_profile

DECODE_UNIT = 360_000  # output tokens a 1-node decode unit serves in an hour
PREFILL_UNIT = 3_600_000


def committed(**commitment) -> dict:
    return {**tiny_profile(), "commitment": {"assumption": True, "start_minutes": 0.0, **commitment}}


def solve(tmp_instance, rows, rental_usd=1.0, formulation="default", **commitment):
    raw = tiny_instance(rows, rental={"usd_per_gpu_hour": rental_usd})
    raw["solver"] = {"formulation": formulation}
    return solve_instance(tmp_instance(raw, [committed(**commitment)]))


def decode_hours(units):
    return [(0, 0, u * DECODE_UNIT) for u in units]


@pytest.mark.parametrize("start_usd, cost, decode", [(2.0, 6.0, [2, 2, 2]), (0.5, 5.5, [2, 1, 2])])
def test_a_start_up_cost_that_makes_a_one_hour_stop_not_worth_it(tmp_instance, start_usd, cost, decode):
    """Decode needs 2, 1, 2 units ($1 a unit-hour). Stopping one unit for the middle hour saves
    $1 and costs one start: at $2 a start the unit stays ($6); at $0.50 it stops ($5 + $0.50)."""
    outcome = solve(tmp_instance, decode_hours([2, 1, 2]), start_usd_per_node=start_usd)
    assert outcome.result.objective_usd == pytest.approx(cost)
    assert outcome.plan.schedule["decode_nodes"].tolist() == decode
    assert outcome.summary["commitment"]["units_started"] == pytest.approx(0 if cost == 6.0 else 1)


def test_a_minimum_up_time_keeps_a_unit_two_hours(tmp_instance):
    """One unit needed in hour 1 of four; formed, it must serve two hours: $2 instead of $1
    (hours 0-1 or 1-2: the same cost)."""
    free = solve(tmp_instance, decode_hours([0, 1, 0, 0]))
    held = solve(tmp_instance, decode_hours([0, 1, 0, 0]), min_up_hours=2.0)
    assert free.result.objective_usd == pytest.approx(1.0)
    assert held.result.objective_usd == pytest.approx(2.0)
    on = held.plan.schedule["decode_nodes"].tolist()
    assert on[1] == 1 and sum(on) == 2 and on in ([1, 1, 0, 0], [0, 1, 1, 0])


def test_a_minimum_down_time_forbids_a_stop_and_restart(tmp_instance):
    """Decode needs 2, 1, 2 units; with no start cost the middle-hour stop saves $1 ($5). A unit
    stopped may not be re-formed within two hours: the second unit stays up ($6)."""
    assert solve(tmp_instance, decode_hours([2, 1, 2])).result.objective_usd == pytest.approx(5.0)
    held = solve(tmp_instance, decode_hours([2, 1, 2]), min_down_hours=2.0)
    assert held.result.objective_usd == pytest.approx(6.0)
    assert held.plan.schedule["decode_nodes"].tolist() == [2, 2, 2]


def test_a_forming_unit_serves_part_of_its_first_hour(tmp_instance):
    """1.5 units of work in hour 1, nothing else; a unit takes 30 minutes to form (phi = 0.5).
    Formed in hour 1, x units serve x - 0.5 x: 3 units ($3); or one unit formed in hour 0 and a
    second in hour 1: 2 - 0.5 = 1.5 ($1 + $2). Either way $3, against $2 without forming time."""
    rows = [(0, 0, 0), (0, 0, 540_000), (0, 0, 0)]
    assert solve(tmp_instance, rows).result.objective_usd == pytest.approx(2.0)
    outcome = solve(tmp_instance, rows, start_minutes=30.0)
    assert outcome.result.objective_usd == pytest.approx(3.0)
    assert outcome.summary["unserved_tokens"]["output"] == pytest.approx(0.0, abs=1e-3)


def test_prefill_and_decode_convert_into_each_other(tmp_instance):
    """Hour 0 needs one prefill unit, hour 1 one decode unit ($3 a node-hour). Keeping both all
    the time costs $12; starting each from idle nodes $6 + 2 x $10 = $26; converting the node each
    hour $6 + 2 x $1 = $8."""
    rows = [(PREFILL_UNIT, 0, 0), (0, 0, DECODE_UNIT)]
    outcome = solve(tmp_instance, rows, rental_usd=3.0, start_usd_per_node=10.0, convert_usd_per_node=1.0)
    assert outcome.result.objective_usd == pytest.approx(8.0)
    assert outcome.summary["commitment"]["nodes_converted"] == pytest.approx(2.0)


def test_free_starts_is_the_plan_without_commitment(tmp_instance):
    """The `free_starts` formulation leaves the family out: the $0.50-a-start case stops for the
    middle hour and pays no start."""
    outcome = solve(tmp_instance, decode_hours([2, 1, 2]), formulation="free_starts", start_usd_per_node=2.0)
    assert outcome.result.objective_usd == pytest.approx(5.0)
    assert "commitment" not in outcome.summary


@pytest.mark.parametrize("rows, commitment, repaired", [
    ([0, 1, 0, 0], {"min_up_hours": 2.0}, [0, 1, 1, 0]),
    ([2, 1, 2], {"min_down_hours": 2.0}, [2, 2, 2]),
    ([0, 0, 2, 0], {"start_minutes": 30.0}, [0, 2, 2, 0]),
])
def test_the_repair_makes_free_units_keep_the_commitment_rules(tmp_instance, rows, commitment, repaired):
    """The repaired warm start's repair, by hand: a unit needed in hour 1 only, held 2 hours, stays
    up in hour 2; the unit stopped for hour 1 and re-formed in hour 2 inside a 2-hour minimum down
    time is kept up instead; two units needed in hour 2 that spend 30 minutes forming would leave
    it short (2 - 2 x 0.5 < 2): they are formed in hour 1, then must stay (1 hour minimum up)."""
    import pandas as pd

    from planner.io.inputs import load_inputs
    from planner.model.families.unit_commitment import _repair
    from planner.physics.compile import compile_planning_data

    raw = tiny_instance(decode_hours(rows), rental={"usd_per_gpu_hour": 1.0})
    data = compile_planning_data(load_inputs(tmp_instance(raw, [committed(**commitment)])))
    (served_model, node_type), = data.commitment
    units = pd.DataFrame({"served_model": served_model, "node_type": node_type, "role": "decode",
                          "period": range(len(rows)), "units": rows})
    assert _repair(units, data)["units"].tolist() == repaired


def test_the_repaired_start_changes_no_optimum():
    """The reference day with the repaired start reaches the same optimum as without: $83,904."""
    from planner.io.inputs import load_inputs
    from planner.model.solve import solve, solver_options
    from planner.physics.compile import compile_planning_data

    from .conftest import REFERENCE_INSTANCE

    data = compile_planning_data(load_inputs(REFERENCE_INSTANCE))
    assert solve(data, solver_options(data, warm_start="repaired")).objective_usd == pytest.approx(83_904)
