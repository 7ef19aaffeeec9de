"""Ledgers and reports: what managers export, scoped like every other read."""
