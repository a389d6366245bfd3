"""Day-ahead commitment and non-anticipativity (family day_ahead): hand-derived plans."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.api import solve_instance

from .conftest import tiny_instance, tiny_profile, write_instance


def committed_profile() -> dict:
    """A 1-node decode unit of 100 tokens/s (0.36 M tokens an hour) that takes 30 minutes and $1
    a node to form."""
    profile = tiny_profile()
    profile["commitment"] = {"start_minutes": 30, "start_usd_per_node": 1.0, "min_up_hours": 1,
                             "min_down_hours": 0, "assumption": True}
    return profile


def scenario_tree(write, hours: list[tuple[int, int]], profile: dict, *, day_ahead: bool = True,
                  owned: dict | None = None, rental: dict | None = None):
    """Two scenarios of decode demand in units per hour, (scenario 0, scenario 1) for each hour,
    on 1-GPU nodes; `write(raw, profiles)` writes the instance and returns its path."""
    raw = tiny_instance([(0, 0, 360_000)] * len(hours), owned=owned, rental=rental)
    raw["scenarios"] = {"file": "scenarios.csv", "day_ahead": day_ahead}
    path = write(raw, [profile])
    rows = ["scenario,period,served_model,input_tokens,input_cache_hit_tokens,output_tokens"]
    rows += [f"{s},{t},toy,0,0,{pair[s] * 360_000}" for s in (0, 1) for t, pair in enumerate(hours)]
    (path.parent / "scenarios.csv").write_text("\n".join(rows) + "\n")
    return path


def tree(tmp_instance, day_ahead: bool, hours: list[tuple[int, int]]):
    """Nodes rented at $1 an hour, nothing owned; units formed as `committed_profile` says."""
    return scenario_tree(tmp_instance, hours, committed_profile(), day_ahead=day_ahead,
                         rental={"usd_per_gpu_hour": 1.0})


def on_demand_tree(write, lead_hours: float, hours: list[tuple[int, int]]):
    """Nodes owned at $0.6 an hour or rented at $1, ordered `lead_hours` ahead; units formed at once."""
    return scenario_tree(write, hours, tiny_profile(), owned={"usd_per_gpu_hour": 0.6},
                         rental={"usd_per_gpu_hour": 1.0, "lead_hours": lead_hours})


def units(outcome) -> pd.DataFrame:
    frame = outcome.result.tables["units"]
    return frame[frame["role"] == "decode"].set_index("period")["units"]


def test_one_scenario_commits_the_deterministic_plan(tmp_instance):
    """With one scenario the commitment y = x costs nothing: the same plan as without it."""
    plain = solve_instance(tree(tmp_instance, False, [(1, 1), (3, 3)]))
    ahead = solve_instance(tree(tmp_instance, True, [(1, 1), (3, 3)]))
    assert ahead.result.objective_usd == pytest.approx(plain.result.objective_usd)
    assert units(ahead).tolist() == units(plain).tolist()


def test_decisions_wait_for_the_branch_by_hand(tmp_instance):
    """Hour 0: one unit in both scenarios; hour 1: one unit in scenario 0, three in scenario 1.
    The day repeats (hour 0 follows hour 1). A unit formed in its hour serves half of it and costs
    $1 to start.

    Seeing the day: scenario 0 keeps (1, 1) units, $2; scenario 1 keeps (3, 3), formed ahead, $6
    (forming in hour 1 would need 5 units: 5 - 0.5 x 4 = 3, $10 + $4 of starts). Expected: $4.

    Not seeing it: at hour 0 the scenarios are the same, so are their units. With 1 unit then,
    scenario 1 needs 5 at hour 1 ($6 + $4 = $10): $6 expected. With 2: scenario 0 (2, 2) $4,
    scenario 1 (2, 4) with 2 starts, $8: $6. With 3: scenario 0 (3, 1) with 2 starts at hour 0,
    $6; scenario 1 (3, 3), $6: $6. Waiting for the branch costs $2."""
    seeing = solve_instance(tree(tmp_instance, False, [(1, 1), (1, 3)]))
    waiting = solve_instance(tree(tmp_instance, True, [(1, 1), (1, 3)]))
    assert seeing.result.objective_usd == pytest.approx(4.0)
    assert waiting.result.objective_usd == pytest.approx(6.0)
    x = units(waiting)
    assert x[0] == x[2]  # hour 0 of scenario 0 and of scenario 1: identical histories, identical units
    committed = waiting.result.tables["committed"]
    committed = committed[committed["role"] == "decode"].set_index("period")["committed_units"]
    assert (committed <= x.groupby(x.index % 2).min()).all()


def test_only_rented_nodes_join_in_real_time(tmp_instance):
    """Owned nodes at $0.5 an hour, rented at $1, scenario demand (1, 3) units in one hour: units
    above the commitment run on rented nodes. Committing 1 owned unit and renting 2 in scenario
    1 costs 0.5 + 0.5 x 2 x 1 = $1.5; committing 3 owned, $1.5 too: the owned fleet never serves a
    unit the day did not commit, so the plan's real-time units fit in its rented nodes."""
    raw = tiny_instance([(0, 0, 360_000)], owned={"usd_per_gpu_hour": 0.5}, rental={"usd_per_gpu_hour": 1.0})
    raw["scenarios"] = {"file": "scenarios.csv", "day_ahead": True}
    path = tmp_instance(raw, [tiny_profile()])
    rows = ["scenario,period,served_model,input_tokens,input_cache_hit_tokens,output_tokens",
            "0,0,toy,0,0,360000", "1,0,toy,0,0,1080000"]
    (path.parent / "scenarios.csv").write_text("\n".join(rows) + "\n")
    outcome = solve_instance(path)
    assert outcome.result.objective_usd == pytest.approx(1.5)
    x = units(outcome)
    table = outcome.result.tables["committed"]
    committed = int(table.loc[table["role"] == "decode", "committed_units"].iloc[0])
    rented = outcome.result.tables["rented"].set_index("period")["rented_nodes"]
    assert all(x[t] - committed <= rented[t] for t in (0, 1))


@pytest.mark.parametrize("lead_hours, objective", [(0.0, 2.2), (1.0, 3.2)])
def test_an_on_demand_lead_time_rents_before_the_branch(tmp_instance, lead_hours, objective):
    """Owned nodes at $0.6 an hour, rented at $1, units formed at once; hour 0 needs 1 unit in
    both scenarios, hour 1 needs 1 (scenario 0) or 3 (scenario 1).

    No lead time: own 1 and commit (1, 1); scenario 1 rents 2 at hour 1: 2 x 0.6 + 0.5 x 2 =
    $2.2 (owning 2, committing (1, 2), renting 1 in scenario 1: 2.4 + 0.5 = $2.9; owning 3: $3.6).

    A one-hour lead: hour 1's rentals are ordered at hour 0, where the scenarios are alike, so
    both rent the same. Own 1, rent 2 in both: 1.2 + 2 = $3.2 (own 2, rent 1 in both: $3.4; own 3:
    $3.6; rent everything: 1 + 3 = $4). The lead time costs $1.0."""
    outcome = solve_instance(on_demand_tree(tmp_instance, lead_hours, [(1, 1), (1, 3)]))
    assert outcome.result.objective_usd == pytest.approx(objective)
    rented = outcome.result.tables["rented"].set_index("period")["rented_nodes"]
    if lead_hours:
        assert rented[1] == rented[3] == 2  # ordered before the branch: the same in both scenarios
    else:
        assert (rented[1], rented[3]) == (0, 2)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(units=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=2, max_size=3))
def test_a_longer_lead_time_never_costs_less(tmp_path_factory, units):
    """Two scenarios of decode demand (units per hour); on-demand nodes ordered 0, 1 or 2 hours
    ahead: each lead time only adds equalities between scenarios' rentals, so the optimum never
    falls."""
    def cost(lead: float) -> float:
        write = lambda raw, profiles: write_instance(tmp_path_factory.mktemp("lead"), raw, profiles)  # noqa: E731
        return solve_instance(on_demand_tree(write, lead, units)).result.objective_usd

    costs = [cost(lead) for lead in (0.0, 1.0, 2.0)]
    assert costs[0] <= costs[1] + 1e-6 <= costs[2] + 2e-6


def test_rentals_ordered_before_the_day_are_first_stage(tmp_instance):
    """With a one-hour lead, hour 0's rentals are ordered before the day, the same in every
    scenario: the reseller's checks fix them with the plan's (FirstStage), as the fleet and the
    commitment; a re-plan then keeps them, here 3 nodes in both scenarios' hour 0."""
    from planner.studies.points import plan_data
    from planner.studies.reseller import FirstStage

    outcome = solve_instance(on_demand_tree(tmp_instance, 1.0, [(1, 1), (1, 3)]))
    stage = FirstStage.of(outcome)
    assert stage.ordered_ahead == {("gpu", 0): 0}  # hour 1's rentals are recourse: not first stage
    forced = FirstStage(stage.owned, stage.reserved, {("gpu", 0): 3})
    again = plan_data(forced.fixed_in(outcome.data), {})
    rented = again.result.tables["rented"].set_index("period")["rented_nodes"]
    assert rented[0] == rented[2] == 3
