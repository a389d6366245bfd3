"""The published-day file (reference/NAME.yaml): the fields planner reads; others may be there too."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, NonNegativeFloat, PositiveFloat, PositiveInt, field_validator, model_validator

from ..validation import iso_with_offset, known_time_zone


class _Published(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)


class _Hardware(_Published):
    gpus_per_node: PositiveInt
    rental_usd_per_gpu_hour: PositiveFloat


class _Deployment(_Published):
    prefill_unit_nodes: PositiveInt
    decode_unit_nodes: PositiveInt


class _Fleet(_Published):
    peak_nodes: PositiveFloat
    average_nodes: PositiveFloat


class _Tokens(_Published):
    input_total: PositiveFloat
    input_cache_hit: NonNegativeFloat
    output_total: PositiveFloat


class _Throughput(_Published):
    prefill_input_tokens_per_s: PositiveFloat
    decode_output_tokens_per_s: PositiveFloat


class _Economics(_Published):
    daily_cost_usd: PositiveFloat
    theoretical_daily_revenue_usd: PositiveFloat
    cost_profit_margin: float


class PriceList(_Published):
    input_cache_hit: NonNegativeFloat
    input_cache_miss: NonNegativeFloat
    output: NonNegativeFloat


class _Window(_Published):
    start: str
    end: str
    time_zone: str | None = None

    @field_validator("start", "end")
    @classmethod
    def _offset(cls, value: str) -> str:
        return iso_with_offset(value)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return value if value is None else known_time_zone(value)


class PublishedDay(_Published):
    window: _Window
    hardware: _Hardware
    deployment: _Deployment
    fleet: _Fleet
    tokens: _Tokens
    throughput_per_node: _Throughput
    economics: _Economics
    prices_usd_per_million_tokens: dict[str, PriceList | Any]

    @field_validator("prices_usd_per_million_tokens")
    @classmethod
    def _has_reasoner_prices(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "deepseek-reasoner" not in value:
            raise ValueError("needs the deepseek-reasoner list prices (the published revenue uses them)")
        PriceList.model_validate(value["deepseek-reasoner"])
        return value


class PublishedClaim(_Published):
    """A figure someone published without a model behind it (reference/*-claim*.yaml): a
    provisioning ratio, or a month's machine cost and revenue at a daily volume."""

    claim: str
    provisioning_ratio: PositiveFloat | None = None
    output_tokens_per_day: PositiveFloat | None = None
    monthly_machine_cost_cny: PositiveFloat | None = None
    monthly_revenue_cny: PositiveFloat | None = None
    sources: list[str]

    @model_validator(mode="after")
    def _states_a_figure(self) -> "PublishedClaim":
        cost = (self.output_tokens_per_day, self.monthly_machine_cost_cny)
        if self.provisioning_ratio is None and None in cost:
            raise ValueError("a claim states provisioning_ratio, or output_tokens_per_day with "
                             "monthly_machine_cost_cny")
        return self
