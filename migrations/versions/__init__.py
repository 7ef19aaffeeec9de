"""Migration scripts, one change each."""
