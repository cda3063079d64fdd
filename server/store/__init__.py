"""The database layer shared by the server and the worker (SQLAlchemy 2, no FastAPI)."""
