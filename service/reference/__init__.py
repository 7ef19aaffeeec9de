"""Reference data: districts, the subsector taxonomy, clusters, targets, tiers."""
