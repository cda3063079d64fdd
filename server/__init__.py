"""horn's server: the FastAPI app, the database layer, the CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("horn")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
