"""The Pyomo model: one module per constraint family, assembled by `build.build_model`."""

from .build import FORMULATIONS, build_model

__all__ = ["FORMULATIONS", "build_model"]
