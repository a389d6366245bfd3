"""Clock windows and the published steps read on a time zone, whatever offset the horizon is written in."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from planner import api
from planner.cli import main
from planner.physics.clock import period_starts, window_share
from planner.physics.published import nodes_per_period
from planner.io.reference import load_reference

from .conftest import REFERENCE_INSTANCE, REFERENCE_YAML, tiny_instance

IN_UTC = "horizon.start=2025-02-27T04:00:00+00:00"  # the same instant as 12:00 in Beijing


def test_the_same_instants_in_utc_give_byte_identical_results(tmp_path):
    """The reference day written in UTC: its summary, schedule and allocation are the same bytes
    (the instance's time zone, Asia/Shanghai, is the local clock either way)."""
    for name, extra in (("beijing", []), ("utc", ["--set", IN_UTC])):
        result = CliRunner().invoke(main, ["solve", str(REFERENCE_INSTANCE), "--out", str(tmp_path / name), *extra])
        assert result.exit_code == 0, result.output
    for file in ("summary.json", "schedule.csv", "allocation.csv"):
        assert (tmp_path / "beijing" / file).read_bytes() == (tmp_path / "utc" / file).read_bytes(), file


def test_margins_are_identical_in_any_offset():
    """The night discount (00:30-08:30 Beijing) lands on the same hours: the whole margins record
    is identical, the night-discount step's $111,986 included."""
    from planner.studies.margins import study

    beijing = study(api.load(REFERENCE_INSTANCE)).record
    utc = study(api.load(REFERENCE_INSTANCE, [IN_UTC])).record
    assert json.dumps(beijing, sort_keys=True) == json.dumps(utc, sort_keys=True)
    night = next(st for st in beijing["waterfall"]["published schedule"] if st["step"] == "night discount")
    assert night["revenue_usd"] == pytest.approx(111_986, abs=1)


def test_published_steps_are_read_on_the_reference_clock():
    """The node steps of the published day (Beijing time) averaged over hours written in UTC."""
    reference = load_reference(REFERENCE_YAML)
    beijing = period_starts("2025-02-27T12:00:00+08:00", 24, 1.0)
    utc = period_starts("2025-02-27T04:00:00+00:00", 24, 1.0)
    assert np.array_equal(nodes_per_period(reference, beijing, 1.0), nodes_per_period(reference, utc, 1.0))


def test_a_window_across_a_daylight_saving_change():
    """Berlin springs forward on 30 March 2025 at 02:00 (CET +01:00 -> CEST +02:00). Six hours
    from 22:00 on the 29th: local starts 22, 23, 00, 01, 03, 04. A window 01:00-04:00 covers the
    hours starting at 01 and 03: shares 0 0 0 1 1 0. On the fixed +01:00 offset the hours start at
    22, 23, 00, 01, 02, 03 and the window covers three: 0 0 0 1 1 1."""
    berlin = period_starts("2025-03-29T22:00:00+01:00", 6, 1.0, "Europe/Berlin")
    assert list(berlin.hour) == [22, 23, 0, 1, 3, 4]
    assert window_share(berlin, 1.0, "01:00", "04:00").tolist() == [0, 0, 0, 1, 1, 0]
    fixed = period_starts("2025-03-29T22:00:00+01:00", 6, 1.0)
    assert window_share(fixed, 1.0, "01:00", "04:00").tolist() == [0, 0, 0, 1, 1, 1]


def test_price_windows_follow_the_zone(tmp_instance):
    """A 50 % off window 01:00-04:00 Berlin time on the night the clocks change: the output price
    is halved in the hours starting at 01:00 and 03:00 local."""
    window = {"name": "night", "start": "01:00", "end": "04:00",
              "prices": {"input_cache_hit": 0.0, "input_cache_miss": 0.0, "output": 1.0}}
    raw = tiny_instance([(0, 0, 1000)] * 6, rental={"usd_per_gpu_hour": 1.0}, start="2025-03-29T22:00:00+01:00",
                        prices={"input_cache_hit": 0.0, "input_cache_miss": 0.0, "output": 2.0},
                        price_windows=[window])
    raw["horizon"]["time_zone"] = "Europe/Berlin"
    data = api.validate_instance(tmp_instance(raw))
    assert data.prices_usd_per_mtok["output"][0].tolist() == [2, 2, 2, 1, 1, 2]


def test_an_unknown_time_zone_is_bad_input(tmp_instance):
    raw = tiny_instance([(0, 0, 1000)], rental={"usd_per_gpu_hour": 1.0})
    raw["horizon"]["time_zone"] = "Mars/Olympus"
    result = CliRunner().invoke(main, ["validate", str(tmp_instance(raw))])
    assert result.exit_code == 2
    assert "horizon.time_zone" in result.stderr and "'Mars/Olympus'" in result.stderr and "IANA" in result.stderr
