"""planner: capacity planning for GPU fleets that serve large language models.

Data flow (one way, one package each): files -> io (schema, inputs) -> physics (compiled
PlanningData) -> model (constraint families, HiGHS) -> results (the typed PlanResult) ->
studies -> report; api.py is the Python API, cli.py the command line.
"""

__version__ = "0.1.0"
