"""Constraint families: one module each, registered with its contract (planner/model/contract.py)."""
