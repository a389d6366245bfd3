"""Results: the economics of a plan (or of a given schedule), the comparison with a published day, and the one typed result every report reads."""
