"""Derived quantities: SLO operating points, TTFT floors, availability and spares, clock windows, the published day; compiled into immutable PlanningData."""
