"""Where a predict job's outputs go: inside its result as `data:` URLs when the caller
asked for it and the server allows that size, else blobs its owner may download."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine

from horn.schemas import npy
from horn.server.store.blobs import LocalBlobStore, has_ref
from horn.server.store.db import make_engine, transaction
from horn.server.store.migrate import upgrade
from horn.worker.tasks.predict import _predict


class FixedModel:
    """Stands for a Keras model whose `predict` returns `outputs`."""

    def __init__(self, outputs: Any) -> None:
        self.outputs = outputs

    def predict(self, x: Any, **kwargs: Any) -> Any:
        return self.outputs


@pytest.fixture()
def engine(tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'horn.db'}"
    upgrade(url)
    return make_engine(url)


def _run(outputs: Any, engine: Engine, blobs: LocalBlobStore, asked: int, allowed: int
         ) -> Any:
    args = {"inline_bytes": asked} if asked else {}
    result = _predict(FixedModel(outputs), args, {"x": np.zeros((4, 2))}, None,  # type: ignore[arg-type]
                      blobs, engine, "local", allowed)
    return result["outputs"]


def test_small_outputs_travel_in_the_result(engine: Engine, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    scores = np.arange(40, dtype="float32").reshape(10, 4)
    outputs = _run({"scores": scores, "pair": (scores[:, :1], scores[:, 1:])}, engine,
                   blobs, asked=16_384, allowed=65_536)
    assert npy.is_data_url(outputs["scores"])
    np.testing.assert_array_equal(npy.from_data_url(outputs["scores"]), scores)
    first, second = (npy.from_data_url(ref) for ref in outputs["pair"])
    assert first.shape == (10, 1) and second.shape == (10, 3)
    assert not any(path.is_file() for path in (tmp_path / "blobs").rglob("*"))


@pytest.mark.parametrize(("asked", "allowed"), [(0, 65_536), (16_384, 0), (100, 65_536),
                                                (16_384, 100)])
def test_outputs_are_blobs_unless_asked_and_allowed(engine: Engine, tmp_path: Path,
                                                    asked: int, allowed: int) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    scores = np.arange(40, dtype="float32").reshape(10, 4)  # 288 .npy bytes
    blob_id = _run(scores, engine, blobs, asked, allowed)
    assert not npy.is_data_url(blob_id)
    np.testing.assert_array_equal(blobs.load_array(blob_id), scores)
    with transaction(engine) as session:
        assert has_ref(session, "local", blob_id)  # its owner may download it


def test_the_limit_counts_every_output_together(engine: Engine, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    half = np.zeros((10, 30), dtype="float32")  # 1,328 .npy bytes each
    size = len(npy.to_npy_bytes(half))
    both = _run([half, half], engine, blobs, asked=2 * size, allowed=2 * size)
    assert all(npy.is_data_url(ref) for ref in both)
    over = _run([half, half], engine, blobs, asked=2 * size - 1, allowed=65_536)
    assert not any(npy.is_data_url(ref) for ref in over)


def test_a_data_url_is_read_without_unpickling() -> None:
    data = npy.to_npy_bytes(np.array([1.5, 2.5], dtype="float64"))
    np.testing.assert_array_equal(npy.from_data_url(npy.to_data_url(data)), [1.5, 2.5])
    buffer = io.BytesIO()
    np.save(buffer, np.array([None], dtype=object), allow_pickle=True)
    with pytest.raises(npy.NpyFormatError):
        npy.from_data_url(npy.to_data_url(buffer.getvalue()))
    with pytest.raises(npy.NpyFormatError, match="base64"):
        npy.from_data_url(npy.DATA_URL_PREFIX + "not base64!")
    with pytest.raises(npy.NpyFormatError, match="Expected"):
        npy.from_data_url("0" * 64)
