"""District roster import: preview, commit, approve, revert, and the batch record."""
