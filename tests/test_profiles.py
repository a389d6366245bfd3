"""The shipped profiles: valid, and their operating points regenerated from the stated model."""

from __future__ import annotations

import re

import pytest

from planner.io.profiles import load_profile
from planner.physics.slo import step_time_operating_points  # noqa: F401 - used by eval() below

from .conftest import ROOT

MODELS = ROOT / "models"
CALL = re.compile(r"step_time_operating_points\(([^)]*)\)", re.S)


@pytest.mark.parametrize("path", sorted(MODELS.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_profile_is_valid_and_its_points_follow_the_stated_model(path):
    profile = load_profile(MODELS, path.stem, "test", "profile")
    assert profile.sources
    call = CALL.search(path.read_text(encoding="utf-8").replace("#", ""))
    if not profile.decode.operating_points:
        return
    assert call, "a profile with operating points states the call that made them"
    expected = eval(f"step_time_operating_points({call.group(1)})")  # noqa: S307 - our own files
    shipped = [(p.tokens_per_s_per_user, p.output_tokens_per_s_per_node) for p in profile.decode.operating_points]
    assert shipped == expected


def test_faster_promise_never_gives_more_tokens_per_node():
    profile = load_profile(MODELS, "deepseek-v3@h800", "test", "profile")
    speeds = [16, 18, 20, 21, 22, 25, 30, 40, 45]
    rates = [profile.decode.throughput_at(v) for v in speeds]
    assert rates == sorted(rates, reverse=True)
    assert profile.decode.throughput_at(21) == 14_800
    assert profile.decode.throughput_at(46) is None
