"""The `margins` section: assumptions of `planner margins`, each with a source or marked as an assumption."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..validation import Strict
from .common import ClockWindow, Name, NonNegative, Prices, Share, Sourced, described


class ModelMix(Sourced):
    """Share of the tokens that are V3 (deepseek-chat) traffic, priced at its own list."""

    v3_token_share: Share = described(
        "Share of every token that is V3 (deepseek-chat) traffic; the rest stays at the instance's prices.",
        unit="share of tokens")
    v3_prices_usd_per_million_tokens: Prices = described("V3's list prices.")


class PaidShare(Sourced):
    """Share of the tokens that pay (API); web and app traffic is free."""

    paid_token_share: Share = described(
        "Share of the served tokens that pay (API); the rest (web, app) earns nothing.", unit="share of tokens")


class NightDiscount(Sourced, ClockWindow):
    """Off-peak prices as a share of list, in a daily clock window on the local clock (`horizon.time_zone`)."""

    v3_price_factor: Share = described("V3's prices inside the window are multiplied by it.", unit="share of list")
    r1_price_factor: Share = described(
        "The instance's own (R1) prices inside the window are multiplied by it (time-weighted within a period), "
        "for every served model `price_factor_by_served_model` does not name.", unit="share of list")
    price_factor_by_served_model: dict[Name, Share] = described(
        "Per served model of the instance (its name → factor), its own prices' factor inside the window, e.g. "
        "`{deepseek-chat: 0.5, deepseek-reasoner: 0.25}` on a fleet that serves both.", {}, unit="share of list")


class Power(Sourced):
    """Electricity by what each node of the owned fleet does (serving, training, idle). Applied only
    with `ownership`: an all-in rent already pays for it."""

    kw_per_node_busy: NonNegative = described("Power drawn by a serving node.", unit="kW per node")
    kw_per_node_idle: NonNegative = described(
        "Power drawn by a node that neither serves nor trains (idle or spare).", unit="kW per node")
    kw_per_node_training: NonNegative | None = described(
        "Power drawn by a training node; `null`: `kw_per_node_busy` (training runs the GPUs flat out).",
        None, unit="kW per node")
    pue: Annotated[float, Field(ge=1, le=3)] = described(
        "Power usage effectiveness of the data centre: facility energy / IT energy.")
    usd_per_kwh: NonNegative = described("Electricity price.", unit="USD per kWh")


class Bandwidth(Sourced):
    """Network costs per token and per node. Applied only with `ownership`: an all-in rent already
    pays for it."""

    usd_per_million_tokens: NonNegative = described(
        "Per million served tokens, input and output.", 0.0, unit="USD per million tokens")
    usd_per_node_day: NonNegative = described(
        "Per owned node-day (every node-hour of the owned fleet / 24, allocated like the capital).", 0.0,
        unit="USD per node-day")


class People(Sourced):
    """Staff and overhead."""

    usd_per_day: NonNegative = described(
        "The service's share of staff and overhead, per day of the horizon.", unit="USD per day")


class Ownership(Sourced):
    """Owning instead of renting: capex per node over its life at a cost of capital, on every hour
    of the owned fleet (the schedule's peak fleet, owned for the whole horizon)."""

    capex_usd_per_node: NonNegative = described("Purchase price of a node with its network share.",
                                                unit="USD per node")
    lifetime_years: Annotated[float, Field(gt=0, le=30)] = described(
        "n, the depreciation life: the years over which the capex is recovered.", unit="years")
    cost_of_capital: Annotated[float, Field(ge=0, le=1)] = described(
        "r, the annual cost of capital: capital recovery is capex · r / (1 − (1 + r)^−n) a year (capex / n when "
        "r = 0), spread over 8,760 hours.", unit="per year")
    idle_and_training_hours_to: Literal["inference", "training"] = described(
        "Who pays for the owned node-hours that do not serve (idle and training): `inference` (the "
        "service's P&L carries every owned hour) or `training` (their capital, power and per-node "
        "bandwidth are charged to training, and the step says how much).", "inference")


class MarginAssumptions(Strict):
    """The steps of the margin waterfall, applied in this order; each optional. The cost basis is
    the all-in rent, or, with `ownership`, capital on every owned node-hour plus power and
    bandwidth: never both."""

    model_mix: ModelMix | None = described("V3 traffic at V3's list.", None)
    paid_share: PaidShare | None = described("Only part of the traffic pays.", None)
    night_discount: NightDiscount | None = described("Off-peak prices.", None)
    ownership: Ownership | None = described("Capital recovery on every owned node-hour, instead of the rent.", None)
    power: Power | None = described("Electricity (with `ownership`; included in an all-in rent).", None)
    bandwidth: Bandwidth | None = described("Network (with `ownership`; included in an all-in rent).", None)
    people: People | None = described("Staff and overhead.", None)
