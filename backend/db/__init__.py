"""The database under the features: the engine and sessions (engine.py), the embedded
server or DATABASE_URL (server.py), Alembic migrations (migrations.py). Imports no feature."""
