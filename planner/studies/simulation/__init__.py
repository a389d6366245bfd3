"""A request-level simulation of a plan (`planner simulate`; docs/formulation.md, section 20).

arrivals: the requests of a window (a trace's, or drawn from the workload); prefill: the FCFS
queue over a pool of streams; decode: the pooled batch with its KV limit and step-time speed;
outages: node failures and swaps. `planner/studies/simulate.py` runs them period by period.
"""
