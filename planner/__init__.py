"""planner: capacity planning for GPU fleets that serve large language models.

Data flow (one way): files -> validated instance (`instance.py`) -> Pyomo model
(`formulation/`) -> HiGHS (`solve.py`) -> result tables -> economics and reports.
"""

__version__ = "0.1.0"
