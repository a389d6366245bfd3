"""Reserved contracts (family reserved_contracts): terms, prices and limits, by hand."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.api import solve_instance

from .conftest import tiny_instance, write_instance


def contracts(short_max: int | None = None) -> list[dict]:
    """A 2-hour term at $1.2 a node-hour and an 8-hour one (longer than the 4-hour horizon: one
    term, charged for the horizon's 4 hours) at $1.0."""
    return [{"name": "short", "term_hours": 2, "usd_per_gpu_hour": 1.2, "max_nodes": short_max, "assumption": True},
            {"name": "long", "term_hours": 8, "usd_per_gpu_hour": 1.0, "assumption": True}]


@pytest.mark.parametrize("short_max, long_nodes, short_nodes, cost", [
    # node 1, needed 4 h: long $4 < short 2 x 2.4 < rent $10; nodes 2 and 3, needed in hours 0-1:
    # short $2.4 < long $4 < rent $5.
    (None, 1, [2, 0], 1 * 4.0 + 2 * 2.4),
    # one short node at most: node 3 takes the long term ($4 < rent $5).
    (1, 2, [1, 0], 2 * 4.0 + 1 * 2.4),
])
def test_terms_follow_the_demand_by_hand(tmp_instance, short_max, long_nodes, short_nodes, cost):
    """Four hours needing 3, 3, 1, 1 decode nodes (2.9, 2.9, 0.9, 0.9 nodes of work); nodes rent
    at $2.5 an hour, nothing owned. The short contract's term 0 covers hours 0-1 and term 1 hours
    2-3; a node on it costs 2 x 1.2 = $2.4 a term. The long contract covers all four hours at
    4 x 1.0 = $4. Each case's comment gives the optimum."""
    raw = tiny_instance([(0, 0, round(u * 360_000)) for u in (2.9, 2.9, 0.9, 0.9)],
                        rental={"usd_per_gpu_hour": 2.5})
    raw["node_types"]["gpu"]["reserved"] = contracts(short_max)
    outcome = solve_instance(tmp_instance(raw))
    assert outcome.result.objective_usd == pytest.approx(cost)
    table = outcome.result.tables["reserved"].set_index(["contract", "term"])["reserved_nodes"]
    assert table["long", 0] == long_nodes
    assert [table["short", 0], table["short", 1]] == short_nodes
    summary = outcome.summary
    assert summary["cost_usd"]["reserved"] == pytest.approx(cost)
    assert summary["cost_usd"]["rental"] == pytest.approx(0.0)
    assert summary["reserved"] == {"gpu": {"short": short_nodes, "long": [long_nodes]}}
    assert summary["fleet"]["reserved_peak"] == {"gpu": long_nodes + short_nodes[0]}
    schedule = outcome.plan.schedule
    assert schedule["reserved_nodes"].tolist() == [long_nodes + short_nodes[0]] * 2 + [long_nodes + short_nodes[1]] * 2
    assert (schedule["idle_nodes"] >= 0).all()


def test_contract_names_must_differ(tmp_instance):
    raw = tiny_instance([(0, 0, 360_000)], rental={"usd_per_gpu_hour": 1.0})
    raw["node_types"]["gpu"]["reserved"] = [contracts()[0], contracts()[0]]
    path = tmp_instance(raw)
    from planner.api import validate_instance
    from planner.errors import InputError
    with pytest.raises(InputError, match="given twice: short"):
        validate_instance(path)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(work=st.lists(st.floats(0.1, 3.0), min_size=2, max_size=4),
       price=st.floats(0.3, 3.0), cheaper=st.floats(0.0, 0.3), term=st.sampled_from([1, 2, 8]))
def test_a_contract_offered_never_costs_more(tmp_path_factory, work, price, cheaper, term):
    """Offering a contract never raises the optimum (nodes on it are a choice), and a cheaper one
    never costs more than a dearer one."""
    def cost(contract: dict | None) -> float:
        raw = tiny_instance([(0, 0, round(u * 360_000)) for u in work], rental={"usd_per_gpu_hour": 1.5})
        if contract:
            raw["node_types"]["gpu"]["reserved"] = [contract]
        return solve_instance(write_instance(tmp_path_factory.mktemp("c"), raw)).result.objective_usd

    offer = {"name": "c", "term_hours": term, "assumption": True}
    none, dear = cost(None), cost({**offer, "usd_per_gpu_hour": price})
    cheap = cost({**offer, "usd_per_gpu_hour": price * (1 - cheaper)})
    assert dear <= none + 1e-6
    assert cheap <= dear + 1e-6


def test_a_term_holds_and_pays_for_whole_periods(tmp_instance):
    """Four 2-hour periods (8 h) and a 3-hour term: periods start at hours 0, 2, 4 and 6, in terms
    0, 0, 1 and 2, which hold 4, 2 and 2 hours. A term shorter than a period is refused."""
    from planner.api import validate_instance
    from planner.errors import InputError

    raw = tiny_instance([(0, 0, 360_000)] * 4, rental={"usd_per_gpu_hour": 1.0}, period_hours=2.0)
    raw["node_types"]["gpu"]["reserved"] = [{"name": "c", "term_hours": 3, "usd_per_gpu_hour": 1.0,
                                             "assumption": True}]
    data = validate_instance(tmp_instance(raw))
    assert data.term_hours_in_horizon(3) == [4.0, 2.0, 2.0]
    assert [data.term_of_period(t, 3) for t in range(4)] == [0, 0, 1, 2]
    assert data.term_hours_in_horizon(100) == [8.0]
    raw["node_types"]["gpu"]["reserved"][0]["term_hours"] = 1
    with pytest.raises(InputError, match="shorter than a period"):
        validate_instance(tmp_instance(raw))
