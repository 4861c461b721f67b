"""The ledger in a database: SQLite by default, PostgreSQL by URL (SQLAlchemy Core, Alembic)."""
