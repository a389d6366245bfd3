"""Studies: many plans of varied instances (frontier, reseller, margins, sweeps, the reproduction of the published day), run on one executor interface."""
