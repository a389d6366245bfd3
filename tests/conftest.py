"""Shared fixtures: paths of the shipped files, and tiny instances written to a temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_INSTANCE = ROOT / "instances" / "deepseek-2025-02-28.yaml"
REFERENCE_YAML = ROOT / "reference" / "deepseek-2025-02-28.yaml"


def tiny_profile(unit_prefill: int = 1, unit_decode: int = 1, prefill_tps: float = 1000.0,
                 decode_tps: float = 100.0, hit_cost: float = 0.1, gpus: int = 1,
                 node_type: str = "gpu", served_model: str = "toy") -> dict[str, Any]:
    """A profile with round numbers, measured without cache hits (a hit costs `hit_cost` of a miss)."""
    return {
        "name": f"{served_model}@{node_type}",
        "served_model": served_model,
        "node_type": node_type,
        "gpus_per_node": gpus,
        "prefill": {"unit_nodes": unit_prefill, "input_tokens_per_s_per_node": prefill_tps,
                    "cache_hit_share_at_measurement": 0.0, "cache_hit_relative_cost": hit_cost},
        "decode": {"unit_nodes": unit_decode, "output_tokens_per_s_per_node": decode_tps},
        "sources": ["test fixture"],
    }


def tiny_instance(demand: list[tuple[float, float, float]], *, owned: dict | None = None,
                  rental: dict | None = None, prices: dict | None = None, gpus: int = 1,
                  period_hours: float = 1.0, start: str = "2025-01-01T00:00:00+00:00",
                  price_windows: list | None = None, penalties: dict | None = None,
                  served_model: str = "toy", profile: str = "toy@gpu") -> dict[str, Any]:
    """One served model on one node type; `demand` is (input, cache-hit, output) tokens per period."""
    node_type: dict[str, Any] = {"gpus_per_node": gpus}
    if owned is not None:
        node_type["owned"] = owned
    if rental is not None:
        node_type["rental"] = rental
    model: dict[str, Any] = {
        "prices_usd_per_million_tokens": prices or {"input_cache_hit": 0.0, "input_cache_miss": 0.0, "output": 0.0},
        "deployments": {"gpu": {"profile": profile}},
    }
    if price_windows:
        model["price_windows"] = price_windows
    raw: dict[str, Any] = {
        "name": "tiny",
        "horizon": {"start": start, "periods": len(demand), "period_hours": period_hours},
        "demand": {"file": "demand.csv"},
        "node_types": {"gpu": node_type},
        "served_models": {served_model: model},
        "profiles_dir": "models",
        "_demand_rows": [(t, served_model, *row) for t, row in enumerate(demand)],
    }
    if penalties is not None:
        raw["penalties"] = penalties
    return raw


def write_instance(folder: Path, raw: dict[str, Any], profiles: list[dict[str, Any]] | None = None) -> Path:
    """Write raw (from tiny_instance) with its demand.csv and profiles into `folder`; return the YAML path."""
    raw = dict(raw)
    rows = raw.pop("_demand_rows")
    (folder / "models").mkdir(parents=True, exist_ok=True)
    for profile in profiles or [tiny_profile()]:
        (folder / "models" / f"{profile['name']}.yaml").write_text(yaml.safe_dump(profile))
    lines = ["period,served_model,input_tokens,input_cache_hit_tokens,output_tokens"]
    lines += [",".join(str(v) for v in row) for row in rows]
    (folder / raw["demand"]["file"]).write_text("\n".join(lines) + "\n")
    path = folder / "instance.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture
def tmp_instance(tmp_path):
    """write_instance bound to a fresh temporary folder."""
    def make(raw: dict[str, Any], profiles: list[dict[str, Any]] | None = None) -> Path:
        return write_instance(tmp_path, raw, profiles)
    return make
