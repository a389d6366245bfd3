"""The schema of every file planner reads: pydantic records whose Field descriptions are the docs."""
