"""The base of every settings class: `HORN_*` environment variables, the data directory."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path.home() / ".horn"
"""Where the embedded setup keeps its database, blobs and broker (`HORN_DATA_DIR`)."""


class HornSettings(BaseSettings):
    """Settings read from `HORN_<FIELD>` environment variables (for example `HORN_DATA_DIR`).

    Building one reads the environment and nothing else: no file or directory is made.
    """

    model_config = SettingsConfigDict(env_prefix="HORN_", extra="ignore")

    data_dir: Path = DEFAULT_DATA_DIR
    """Where the embedded defaults live: `horn.db`, `blobs/`, `broker/`, `secret_key`."""
