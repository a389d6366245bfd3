"""Every shipped instance against its stored objective (tests/objective_baselines.yaml)."""

from __future__ import annotations

import pytest
import yaml

from planner.api import solve_instance

from .conftest import ROOT

BASELINES = yaml.safe_load((ROOT / "tests" / "objective_baselines.yaml").read_text())


def test_every_shipped_instance_has_a_baseline():
    assert set(BASELINES) == {p.stem for p in (ROOT / "instances").glob("*.yaml")}


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_objective_matches_its_baseline(name):
    baseline = BASELINES[name]
    result = solve_instance(ROOT / "instances" / f"{name}.yaml", baseline.get("overrides", [])).result
    assert result.has_plan, result.termination
    assert result.objective_usd == pytest.approx(baseline["objective_usd"], rel=baseline["relative_tolerance"])
    if "best_known_objective_usd" in baseline:
        assert result.bound_usd <= baseline["best_known_objective_usd"] <= result.objective_usd
