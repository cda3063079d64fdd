"""An in-process server (FastAPI's TestClient) on SQLite with `HORN_AUTH=keys`, and keys
for an admin and two ordinary users, alice and bob."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from horn.schemas.contenthash import blob_id as blob_id_of
from horn.server.main import create_app
from horn.server.store import users
from horn.server.store.db import make_engine, session_factory
from horn.server.store.migrate import upgrade
from horn.settings import ServerSettings as Settings


@dataclass
class Server:
    """The app, its settings, and a client per user."""

    client: TestClient
    settings: Settings
    keys: dict[str, str]
    data_dir: Path

    def as_(self, user: str | None) -> dict[str, str]:
        """Headers that authenticate as `user` (None: no header)."""
        return {"Authorization": f"Bearer {self.keys[user]}"} if user else {}

    def call(self, user: str | None, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.as_(user), **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)


def make_server(tmp_path: Path, **overrides: Any) -> Server:
    url = f"sqlite:///{tmp_path / 'horn.db'}"
    upgrade(url)
    settings = Settings(data_dir=tmp_path, database_url=url, auth="keys",
                        reaper_interval=3600, **overrides)
    engine = make_engine(url)
    keys: dict[str, str] = {}
    with session_factory(engine)() as session:
        for name, admin in (("admin", True), ("alice", False), ("bob", False)):
            users.ensure_user(session, name, is_admin=admin)
            keys[name] = users.create_key(session, name)[1]
        session.commit()
    engine.dispose()
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    return Server(client=client, settings=settings, keys=keys, data_dir=tmp_path)


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[Server]:
    srv = make_server(tmp_path)
    with srv.client:
        yield srv


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def upload(srv: Server, user: str, array: np.ndarray) -> str:
    data = npy(array)
    blob_id = blob_id_of(data)
    response = srv.call(user, "PUT", f"/v1/blobs/{blob_id}", content=data)
    assert response.status_code == 200, response.text
    return blob_id


def dense_spec(units: int = 2, inputs: int = 4) -> dict[str, Any]:
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": "sequential", "layers": [
                {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
                 "config": {"batch_shape": [None, inputs], "dtype": "float32",
                            "name": "input_layer"}},
                {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
                 "config": {"name": "dense", "units": units, "activation": "softmax"}}]}}


COMPILE = {"optimizer": "sgd", "loss": "sparse_categorical_crossentropy",
           "metrics": ["accuracy"]}


def assert_error(response: Any, status: int, *needles: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    for needle in needles:
        assert needle in error["message"], error["message"]
    return error
