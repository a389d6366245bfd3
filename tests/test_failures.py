"""Correlated failures (racks and their switches): the laws by hand and by enumeration, and the
simulated fleet against the renewal process they come from."""

from __future__ import annotations

import itertools

import pytest

from planner.io.schema.failures import Failures
from planner.physics.failures import (min_units_for_failures, rack_down_probability, spare_nodes, unit_availability,
                                      units_up_sf)


def enumerated_sf(n: int, k: int, own: float, per_rack: int, rack_up: float) -> float:
    """P(at least k of n units up) by listing every state of the racks and the units."""
    racks = [i // per_rack for i in range(n)]
    total = 0.0
    for rack_state in itertools.product((0, 1), repeat=max(racks) + 1):
        p_racks = 1.0
        for up in rack_state:
            p_racks *= rack_up if up else 1 - rack_up
        for unit_state in itertools.product((0, 1), repeat=n):
            p = p_racks
            for up in unit_state:
                p *= own if up else 1 - own
            if sum(u and rack_state[racks[i]] for i, u in enumerate(unit_state)) >= k:
                total += p
    return total


@pytest.mark.parametrize("n, k, per_rack", [(5, 3, 2), (6, 4, 3), (4, 1, 4), (3, 3, 1)])
def test_units_sharing_racks_against_enumeration(n, k, per_rack):
    assert units_up_sf(n, k, 0.9, per_rack, 0.8) == pytest.approx(enumerated_sf(n, k, 0.9, per_rack, 0.8), abs=1e-12)


def test_a_shared_rack_needs_one_more_unit_by_hand():
    """1-node units, 2 to a rack; only racks fail, down 1 / 9 of the time: r = (1/9) / (1 + 1/9)
    = 0.1. One unit needed with probability 0.95. Counted as independent units (a = 0.9), two
    suffice: 1 - 0.1^2 = 0.99. On one shared rack the two are up together, 0.9 < 0.95; a third
    unit on a second rack gives 1 - 0.1 x 0.1 = 0.99: three units."""
    failures = Failures(node_failures_per_hour=0, repair_hours=1, rack_nodes=2, rack_failures_per_hour=1 / 36,
                        rack_repair_hours=4, availability_target=0.95)
    assert rack_down_probability(failures) == pytest.approx(0.1)
    assert unit_availability(failures, 1) == pytest.approx(0.9)
    assert min_units_for_failures(failures, 1, [1, 0]).tolist() == [3, 0]
    # A unit as large as the rack has it to itself: the binomial rule, two units.
    assert min_units_for_failures(failures, 2, [1]).tolist() == [2]


def test_spare_pool_for_clustered_failures_by_hand():
    """40 nodes in racks of 4 (10 racks), no node failures; a rack fails 0.01 times an hour and is
    repaired in 4 hours: racks in repair ~ Poisson(10 x 0.01 x 4 = 0.4), P(<= 2) = 0.9921,
    P(<= 3) = 0.9992. At 0.999 the pool covers 3 racks: 12 nodes (a Poisson count of single
    nodes with the same mean, 1.6, would ask 7)."""
    failures = Failures(node_failures_per_hour=0, repair_hours=24, swap_hours=0.25, rack_nodes=4,
                        rack_failures_per_hour=0.01, rack_repair_hours=4, availability_target=0.999)
    assert spare_nodes(failures, 40) == 12


def simulated_up_share(layout, rates, spares, needed: int, days: int, seed: int = 3) -> tuple[float, float]:
    """Share of simulated days with at least `needed` units up at 00:30 (all units serving, one
    kind, `spares` spare nodes every hour), and swaps refused per day."""
    import numpy as np

    from planner.studies.simulation.fleet_outages import simulate_day, units_up

    rng = np.random.default_rng(seed)
    instants = np.array([0.5])
    serving = np.full((1, 1), len(layout.kinds))
    ok = refused = 0
    for _ in range(days):
        day = simulate_day(rng, layout, rates, np.asarray(spares * 24), 1.0)  # a day of 24 one-hour periods
        ok += units_up(day, layout, serving, instants, 1.0)[0, 0] >= needed
        refused += day.swaps_refused
    return ok / days, refused / days


def within(measured: float, exact: float, days: int) -> bool:
    return abs(measured - exact) <= 4 * (exact * (1 - exact) / days) ** 0.5 + 1e-12


def test_units_on_one_rack_fail_together_in_the_simulation():
    """Two 1-node units on one rack of 2; only the rack fails (0.05 an hour, 2 hours out:
    r = 0.1 / 1.1). One unit needed: it is missing exactly when the rack is down, 1 - r = 0.909,
    not 1 - r^2 = 0.992 as for independent units."""
    from planner.physics.data import FailureRates
    from planner.studies.simulation.fleet_outages import lay_out

    layout = lay_out([1], [2], rack_nodes=2)
    assert layout.rack_count == 1
    rates = FailureRates(0.0, 1.0, None, rack_nodes=2, rack_failures_per_hour=0.05, rack_repair_hours=2.0)
    share, _ = simulated_up_share(layout, rates, [0], needed=1, days=4000)
    assert within(share, 1 - 0.1 / 1.1, 4000)


@pytest.mark.parametrize("pool, down_hours", [(8, 0.5), (3, 2.0)])
def test_a_rack_outage_waits_for_its_repair_when_the_pool_runs_out(pool, down_hours):
    """A 4-node unit on its rack; the rack fails 0.05 times an hour, is repaired in 2 hours (its
    4 spares held that long), and spares swap in within 0.5 hours. With 8 spares an outage is a
    swap but when three racks fail within 2 hours: down 0.025 / 1.025 of the time. With 3, too few
    for the rack's 4 nodes: every outage waits for the repair, down 0.1 / 1.1 of the time, and
    each is a refused swap: 0.05 x 24 / 1.1 = 1.09 a day."""
    from planner.physics.data import FailureRates
    from planner.studies.simulation.fleet_outages import lay_out

    layout = lay_out([4], [1], rack_nodes=4)
    rates = FailureRates(0.0, 24.0, 0.5, rack_nodes=4, rack_failures_per_hour=0.05, rack_repair_hours=2.0)
    share, refused = simulated_up_share(layout, rates, [pool], needed=1, days=4000)
    rate = 0.05 * down_hours
    assert within(share, 1 - rate / (1 + rate), 4000)
    if pool < 4:
        assert refused == pytest.approx(0.05 * 24 / 1.1, rel=0.08)
    else:
        assert refused < 0.02


def test_the_layout_gives_big_units_racks_of_their_own():
    """Racks of 4: a 6-node unit takes 2 racks (4 + 2 nodes), the next starts a fresh rack; 1-node
    units go 4 to a rack."""
    from planner.studies.simulation.fleet_outages import lay_out

    layout = lay_out([6, 1], [2, 5], rack_nodes=4)
    assert layout.racks[:2] == (((0, 4), (1, 2)), ((2, 4), (3, 2)))
    assert [parts[0][0] for parts in layout.racks[2:]] == [4, 4, 4, 4, 5]
    assert layout.rack_count == 6


def test_a_unit_not_serving_takes_no_spare():
    """Three 1-node units failing often (0.5 an hour) with no spare at all: while they serve,
    failures find the pool short; while none serves, none asks for a spare."""
    import numpy as np

    from planner.physics.data import FailureRates
    from planner.studies.simulation.fleet_outages import lay_out, simulate_day

    layout = lay_out([1], [3], rack_nodes=1)
    rates = FailureRates(0.5, 2.0, 0.25)
    rng = np.random.default_rng(5)
    spares = np.zeros(24)
    serving, idle = np.full((1, 24), 3), np.zeros((1, 24), dtype=int)
    assert sum(simulate_day(rng, layout, rates, spares, 1.0, serving).swaps_refused for _ in range(20)) > 0
    assert sum(simulate_day(rng, layout, rates, spares, 1.0, idle).swaps_refused for _ in range(20)) == 0


def test_all_units_on_one_rack_may_need_fewer_than_independence():
    """1-node units, 4 to a rack, only racks fail (r = 0.0005 / 1.0005); all four needed with
    probability 0.999: on one rack they are all up with 1 - r = 0.9995, while four independent
    units with a = 1 - r give a^4 = 0.998 and the binomial asks a fifth."""
    failures = Failures(node_failures_per_hour=0, repair_hours=1, rack_nodes=4, rack_failures_per_hour=5e-4,
                        rack_repair_hours=1, availability_target=0.999)
    assert min_units_for_failures(failures, 1, [4]).tolist() == [4]


def test_every_period_keeps_its_own_spare_pool(tmp_path):
    """Racks of 4 fail 0.01 times an hour, 4 hours to repair, α = 0.999, no node failures. An
    hour needing 40 nodes (10 racks: Poisson(0.4) racks in repair, 3 at the quantile) keeps 12
    spares; an hour needing 8 (2 racks: Poisson(0.08), P(<= 1) = 0.9970 < 0.999 <= P(<= 2)) keeps 8,
    where the peak's ratio 12 / 40 would give 3: the per-period bound of a type serving alone."""
    from planner.api import solve_instance, validate_instance

    from .conftest import tiny_instance, write_instance

    raw = tiny_instance([(0, 0, 40 * 360_000), (0, 0, 8 * 360_000)], owned={"usd_per_gpu_hour": 1.0})
    raw["failures"] = {"node_failures_per_hour": 0.0, "repair_hours": 24, "swap_hours": 0.25, "rack_nodes": 4,
                       "rack_failures_per_hour": 0.01, "rack_repair_hours": 4, "availability_target": 0.999}
    path = write_instance(tmp_path, raw)
    data = validate_instance(path)
    assert data.spare_ratio["gpu"] == pytest.approx(12 / 40)
    assert list(data.spare_floor["gpu"]) == [12, 8]
    schedule = solve_instance(path).plan.schedule  # the spares are idle nodes of the fleet
    assert (schedule["idle_nodes"] >= [12, 8]).all()
