"""The `horn` command lives in `horn.cli`: what an operator runs and reads."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _horn(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "horn.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT, env={**os.environ, **env})


def test_the_script_and_python_m_run_horn_cli() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"horn": "horn.cli.main:main"}
    done = _horn("--help")
    assert done.returncode == 0, done.stderr
    for command in ("up", "server", "worker", "keys", "db"):
        assert command in done.stdout


def _psycopg2_missing() -> None:
    try:
        import psycopg2  # noqa: F401
        pytest.skip("psycopg2 is installed here")
    except ModuleNotFoundError:
        pass


@pytest.mark.parametrize("command", [("db", "upgrade"), ("server",), ("keys", "list")])
def test_a_missing_database_driver_is_a_message_not_a_traceback(
        command: tuple[str, ...], tmp_path: Path) -> None:
    _psycopg2_missing()
    done = _horn(*command, HORN_DATABASE_URL="postgresql+psycopg2://horn@127.0.0.1:1/horn",
                 HORN_DATA_DIR=str(tmp_path))
    assert done.returncode != 0
    assert "HORN_DATABASE_URL" in done.stderr and "psycopg2" in done.stderr
    assert "Traceback" not in done.stderr and "ModuleNotFoundError" not in done.stderr


def test_db_upgrade_takes_a_plain_postgresql_url(tmp_path: Path) -> None:
    psycopg = pytest.importorskip("psycopg")
    from tests.integration import stack

    admin = os.environ.get("HORN_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        url, name = stack.create_database(admin)
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL at HORN_TEST_DATABASE_URL")
    try:
        plain = "postgresql://" + url.split("://", 1)[1]  # what psql and pg_dump print
        done = _horn("db", "upgrade", HORN_DATABASE_URL=plain, HORN_DATA_DIR=str(tmp_path))
        assert done.returncode == 0, done.stderr
        assert "Database schema is current (postgresql+psycopg://" in done.stdout
    finally:
        stack.drop_database(admin, name)
