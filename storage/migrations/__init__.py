"""Alembic's migrations of the ledger's schema (run by storage.database, never by hand)."""
