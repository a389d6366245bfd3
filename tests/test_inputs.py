"""Loaded inputs varied in memory: files read again only when their path changes, errors named
after the update that explains them, compiled data that stays read-only across processes."""

from __future__ import annotations

import pickle

import pytest

from planner import api
from planner.errors import Argument, InputError
from planner.physics.compile import compile_planning_data

from .conftest import REFERENCE_INSTANCE, tiny_instance


def test_vary_reads_no_file_unless_a_path_changes(tmp_instance):
    """demand.scale changes the numbers, not the table read; a new demand.file is read."""
    path = tmp_instance(tiny_instance([(1000, 0, 100)], rental={"usd_per_gpu_hour": 1.0}))
    inputs = api.load(path)
    scaled = api.vary(inputs, {"demand.scale": 2.0})
    assert scaled.demand is inputs.demand and scaled.profiles == inputs.profiles
    assert compile_planning_data(scaled).demand_tokens["output_tokens"][0][0] == 200
    (path.parent / "other.csv").write_text(
        "period,served_model,input_tokens,input_cache_hit_tokens,output_tokens\n0,toy,1000,0,300\n")
    other = api.vary(inputs, {"demand.file": "other.csv"})
    assert other.demand is not inputs.demand
    assert other.demand["output_tokens"][0][0] == 300


def test_an_invalid_update_is_named_as_the_update():
    inputs = api.load(REFERENCE_INSTANCE)
    with pytest.raises(InputError) as raised:
        api.vary(inputs, {"solver.mip_gap": 2.0})
    assert raised.value.file == Argument("updates", "solver.mip_gap")
    assert "less than or equal to 1" in raised.value.line()


def test_an_update_found_wrong_while_compiling_is_named_as_the_update():
    """A speed no profile serves is refused when the data is compiled, after validation."""
    inputs = api.vary(api.load(REFERENCE_INSTANCE), {"served_models.deepseek-r1.slo.decode_tokens_per_s_per_user": 50.0})
    with pytest.raises(InputError) as raised:
        api.planning_data(inputs)
    assert raised.value.file == Argument("updates", "served_models.deepseek-r1.slo.decode_tokens_per_s_per_user")


def test_overrides_may_be_a_mapping():
    data = api.validate_instance(REFERENCE_INSTANCE, {"demand.scale": 0.5})
    assert data.demand_tokens["output_tokens"].sum() == pytest.approx(84e9)


def test_compiled_data_stays_read_only_across_processes():
    data = pickle.loads(pickle.dumps(api.validate_instance(REFERENCE_INSTANCE)))
    with pytest.raises(ValueError, match="read-only"):
        data.demand_mtok[("deepseek-r1", "decode")][0] = 0.0
