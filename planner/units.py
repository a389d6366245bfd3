"""Names and unit conversions every layer shares. Base layer: imports nothing of planner's."""

ROLES = ("prefill", "decode")
SECONDS_PER_HOUR = 3600.0
TOKENS_PER_MTOK = 1e6
HOURS_PER_DAY = 24.0
HOURS_PER_YEAR = 8760.0
PRICE_KINDS = ("input_cache_hit", "input_cache_miss", "output")
