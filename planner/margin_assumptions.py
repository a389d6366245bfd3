"""Margin assumptions of an instance (its `margins` section): every figure with a unit in its
name and a source, or an `assumption: true` flag. Used by planner/margins.py."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from .validation import ClockWindow, Prices, Strict

_NonNegative = Annotated[float, Field(ge=0)]
_Share = Annotated[float, Field(ge=0, le=1)]


class _Sourced(Strict):
    """Every figure says where it comes from, or that it is an assumption."""

    source: str | None = None
    assumption: bool = False

    @model_validator(mode="after")
    def _sourced(self):
        if not self.source and not self.assumption:
            raise ValueError("give a source, or set assumption: true")
        return self


class ModelMix(_Sourced):
    """Share of the tokens that are V3 (deepseek-chat) traffic, priced at its own list."""

    v3_token_share: _Share
    v3_prices_usd_per_million_tokens: Prices


class PaidShare(_Sourced):
    """Share of the tokens that pay (API); web and app traffic is free."""

    paid_token_share: _Share


class NightDiscount(_Sourced, ClockWindow):
    """Off-peak prices as a share of list, in a daily clock window (local clock of the horizon)."""

    v3_price_factor: _Share
    r1_price_factor: _Share


class Power(_Sourced):
    kw_per_node_busy: _NonNegative
    kw_per_node_idle: _NonNegative
    pue: Annotated[float, Field(ge=1, le=3)]
    usd_per_kwh: _NonNegative


class Bandwidth(_Sourced):
    usd_per_million_tokens: _NonNegative = 0.0
    usd_per_node_day: _NonNegative = 0.0


class People(_Sourced):
    usd_per_day: _NonNegative


class Ownership(_Sourced):
    """Owning instead of renting: capex per node over its life at a cost of capital."""

    capex_usd_per_node: _NonNegative
    lifetime_years: Annotated[float, Field(gt=0, le=30)]
    cost_of_capital: Annotated[float, Field(ge=0, le=1)]


class MarginAssumptions(Strict):
    model_mix: ModelMix | None = None
    paid_share: PaidShare | None = None
    night_discount: NightDiscount | None = None
    power: Power | None = None
    bandwidth: Bandwidth | None = None
    people: People | None = None
    ownership: Ownership | None = None


