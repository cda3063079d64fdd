"""horn's server: the FastAPI app, the database layer, the CLI."""

__version__ = "0.2.0"
