"""Alembic migrations, shipped in the package so `tierledger db upgrade` finds them."""
