"""Committed databases for crash, race and backup tests: `committed_db` (tests/conftest.py)."""
