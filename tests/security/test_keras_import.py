"""`.keras` uploads: a real file is accepted; hostile ones (code in the config, HDF5
external links and oversized datasets, zip bombs, legacy `.h5`) are refused, 4xx."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from tests.security.conftest import Server, assert_error, dense_spec, make_server
from tests.security.payloads import SPECS


def weights_h5(path: Path, *, extra: Any = None) -> bytes:
    with h5py.File(path, "w") as f:
        group = f.create_group("layers/dense/vars")
        group.create_dataset("0", data=np.zeros((4, 2), "float32"))
        group.create_dataset("1", data=np.zeros((2,), "float32"))
        if extra is not None:
            extra(f)
    return path.read_bytes()


def keras_file(tmp_path: Path, config: Any = None, weights: bytes | None = None,
               extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps(config or dense_spec()))
        archive.writestr("model.weights.h5",
                         weights if weights is not None else weights_h5(tmp_path / "w.h5"))
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def post(server: Server, data: bytes, user: str = "alice") -> Any:
    return server.call(user, "POST", "/v1/models/import", params={"name": "imported"},
                       content=data, headers={"Content-Type": "application/octet-stream"})


def test_a_keras_file_is_imported_and_its_weights_kept(server: Server, tmp_path: Path) -> None:
    response = post(server, keras_file(tmp_path))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["owner"] == "alice" and body["spec"]["class_name"] == "Sequential"
    assert body["weights_bytes"] == 4 * 2 * 4 + 2 * 4 and body["keras_version"] == "3.15.1"
    blob = body["import_weights_blob"]
    stored = server.data_dir / "blobs" / blob[:2] / blob[2:4] / blob
    assert stored.is_file() and stored.read_bytes()[:4] == b"\x89HDF"
    other = server.call("bob", "GET", f"/v1/models/{body['id']}")
    assert_error(other, 404)


def test_a_file_saved_by_keras_is_imported(server: Server, tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.save(tmp_path / "real.keras")
    response = post(server, (tmp_path / "real.keras").read_bytes())
    assert response.status_code == 201, response.text
    assert response.json()["weights_bytes"] >= (3 * 4 + 4 + 4 + 1) * 4


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hostile_config_in_a_keras_file_is_refused(server: Server, tmp_path: Path,
                                                   name: str) -> None:
    build, needle = SPECS[name]
    marker = tmp_path / "marker"
    assert_error(post(server, keras_file(tmp_path, build(marker))), 400, "refused", needle)
    assert not marker.exists()


def test_hdf5_external_link_is_refused(server: Server, tmp_path: Path) -> None:
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as f:
        f.create_dataset("data", data=np.arange(4.0))

    def link(f: h5py.File) -> None:
        f["layers/dense/vars/2"] = h5py.ExternalLink(str(secret), "/data")

    weights = weights_h5(tmp_path / "w.h5", extra=link)
    assert_error(post(server, keras_file(tmp_path, weights=weights)), 400, "external link")


def test_hdf5_soft_link_and_external_storage_are_refused(server: Server,
                                                         tmp_path: Path) -> None:
    def soft(f: h5py.File) -> None:
        f["layers/dense/vars/2"] = h5py.SoftLink("/layers")

    weights = weights_h5(tmp_path / "s.h5", extra=soft)
    assert_error(post(server, keras_file(tmp_path, weights=weights)), 400, "soft link")

    raw = tmp_path / "raw.bin"
    raw.write_bytes(b"\0" * 64)

    def external(f: h5py.File) -> None:
        f.create_dataset("layers/dense/vars/2", shape=(16,), dtype="float32",
                         external=[(str(raw), 0, 64)])

    weights = weights_h5(tmp_path / "e.h5", extra=external)
    assert_error(post(server, keras_file(tmp_path, weights=weights)), 400, "external file")


def test_oversized_hdf5_dataset_is_refused(server: Server, tmp_path: Path) -> None:
    def huge(f: h5py.File) -> None:  # declares 4 TiB, stores nothing (chunked, sparse)
        f.create_dataset("layers/dense/vars/2", shape=(2**40,), dtype="float32",
                         chunks=(1024,))

    weights = weights_h5(tmp_path / "w.h5", extra=huge)
    assert len(weights) < 100_000
    assert_error(post(server, keras_file(tmp_path, weights=weights)), 400, "over the limit")


def test_hdf5_object_dtype_is_refused(server: Server, tmp_path: Path) -> None:
    def strings(f: h5py.File) -> None:
        f.create_dataset("layers/dense/vars/2", data=["a", "b"],
                         dtype=h5py.string_dtype())

    weights = weights_h5(tmp_path / "w.h5", extra=strings)
    assert_error(post(server, keras_file(tmp_path, weights=weights)), 400, "numeric")


def test_zip_bomb_is_refused(server: Server, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", json.dumps(dense_spec()))
        archive.writestr("model.weights.h5", b"\0" * (200 * 1024**2))
    data = buffer.getvalue()
    assert len(data) < 1024**2
    assert_error(post(server, data), 400, "zip bomb")


def test_unpacked_size_is_limited(tmp_path: Path) -> None:
    srv = make_server(tmp_path, max_unpacked_bytes=2_000)
    with srv.client:
        data = keras_file(tmp_path, extra=None)
        assert_error(post(srv, data), 400, "HORN_MAX_UNPACKED_BYTES")


def test_upload_size_is_limited(tmp_path: Path) -> None:
    srv = make_server(tmp_path, max_import_bytes=200)
    with srv.client:
        assert_error(post(srv, keras_file(tmp_path)), 413, "HORN_MAX_IMPORT_BYTES")


def test_legacy_h5_model_is_refused(server: Server, tmp_path: Path) -> None:
    with h5py.File(tmp_path / "legacy.h5", "w") as f:
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential"})
    assert_error(post(server, (tmp_path / "legacy.h5").read_bytes()), 400, "legacy HDF5")


@pytest.mark.parametrize("member, needle", [
    ("assets/lookup/vocabulary.txt", "assets"),
    ("../../etc/cron.d/evil", "unexpected member"),
    ("/etc/passwd", "unexpected member"),
    ("model.weights.npz", "unexpected member"),
])
def test_unexpected_members_are_refused(server: Server, tmp_path: Path, member: str,
                                        needle: str) -> None:
    data = keras_file(tmp_path, extra={member: b"x"})
    assert_error(post(server, data), 400, needle)


@pytest.mark.parametrize("data, needle", [
    (b"not a zip at all", "zip archive"),
    (b"", "zip archive"),
    (b"PK\x03\x04" + b"\0" * 100, "zip archive"),
])
def test_garbage_is_refused(server: Server, data: bytes, needle: str) -> None:
    assert_error(post(server, data), 400, needle)


def test_config_with_nan_or_not_a_model_is_refused(server: Server, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", '{"class_name": "Sequential", "config": {"x": NaN}}')
    assert_error(post(server, buffer.getvalue()), 400, "NaN")
    assert_error(post(server, keras_file(tmp_path, {"class_name": "Dense"})), 400,
                 "Sequential")


def test_truncated_hdf5_is_refused(server: Server, tmp_path: Path) -> None:
    weights = weights_h5(tmp_path / "w.h5")
    assert_error(post(server, keras_file(tmp_path, weights=weights[: len(weights) // 2])),
                 400, "model.weights.h5")
