"""`pip install .` gives a working SDK: the client imports nothing beyond httpx, numpy,
pydantic, websockets, blake3 and xxhash (no TensorFlow, Keras, FastAPI, SQLAlchemy or Celery)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BLOCKED = ["tensorflow", "keras", "fastapi", "starlette", "sqlalchemy", "celery", "kombu",
           "redis", "alembic", "psycopg", "uvicorn", "jax", "torch"]

SCRIPT = f"""
import importlib.abc, sys
BLOCKED = {BLOCKED!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"the SDK must not import {{name}}")
        return None
sys.meta_path.insert(0, Block())
from horn import keras
from horn.keras import layers
for ns in ("activations", "callbacks", "constraints", "initializers", "layers", "losses",
           "metrics", "optimizers", "regularizers", "utils"):
    getattr(keras, ns)
from horn.keras.optimizers import schedules
schedules.ExponentialDecay(0.1, 100, 0.9)
model = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
model.compile(optimizer=keras.optimizers.AdamW(), loss="mse", metrics=["mae"])
print(len(model.to_json()) > 100)
"""


def test_client_imports_only_the_base_dependencies() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_base_install_requires_only_the_sdk_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = sorted(dep.split(">")[0].split("=")[0].split("<")[0].strip()
                   for dep in project["dependencies"])
    assert names == ["blake3", "httpx", "numpy", "pydantic", "websockets", "xxhash"]
    assert set(project["optional-dependencies"]) >= {"server", "worker", "all", "test"}
    assert not any("tensorflow" in dep for dep in project["optional-dependencies"]["server"])
