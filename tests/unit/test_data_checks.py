"""Bad data is refused by the SDK before anything is sent, in Keras's words."""

from __future__ import annotations

import io
from typing import Any

import blake3
import numpy as np
import pytest

import horn
from horn import _data, keras
from horn.keras import layers
from horn.schemas import contenthash, npy


@pytest.fixture()
def model() -> keras.Sequential:
    # Points at a port nobody listens on: any attempt to send would raise ConnectError,
    # so a ValueError proves the check happened before the network.
    horn.connect("http://127.0.0.1:9", max_retries=1)
    m = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    m.compile(optimizer="sgd", loss="mse")
    return m


def test_mismatched_lengths(model: keras.Sequential) -> None:
    with pytest.raises(ValueError, match=r"Data cardinality is ambiguous.*'x' sizes: 10\n"
                                         r"'y' sizes: 9"):
        model.fit(np.zeros((10, 3)), np.zeros((9, 2)), verbose=0)


def test_object_dtype(model: keras.Sequential) -> None:
    x = np.array([[1, 2, 3], [4, 5, None]], dtype=object)
    with pytest.raises(ValueError, match="dtype=object"):
        model.fit(x, np.zeros((2, 2)), verbose=0)


def test_empty_array(model: keras.Sequential) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        model.predict(np.zeros((0, 3)), verbose=0)


def test_ragged_lists(model: keras.Sequential) -> None:
    with pytest.raises(ValueError, match="same shape"):
        model.predict([[1.0, 2.0, 3.0], [1.0]], verbose=0)


def test_validation_data_shape(model: keras.Sequential) -> None:
    with pytest.raises(ValueError, match="validation_data"):
        model.fit(np.zeros((4, 3)), np.zeros((4, 2)), validation_data=np.zeros(3), verbose=0)


def test_fit_before_compile() -> None:
    m = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    with pytest.raises(ValueError, match=r"You must call `compile\(\)` before using the model\."):
        m.fit(np.zeros((4, 3)), np.zeros((4, 2)))


def test_unreachable_server_says_what_to_do(model: keras.Sequential) -> None:
    with pytest.raises(horn.errors.ConnectError, match="horn up"):
        model.fit(np.zeros((4, 3)), np.zeros((4, 2)), verbose=0)


def test_blob_id_is_blake3_of_npy_bytes() -> None:
    array = np.arange(12, dtype="float32").reshape(3, 4)
    encoded = _data.encode(array)
    raw = b"".join(encoded.chunks())
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    assert raw == buffer.getvalue()
    assert encoded.blob_id == blake3.blake3(raw).hexdigest()
    assert encoded.nbytes == len(raw)
    np.testing.assert_array_equal(npy.from_npy_bytes(raw), array)


def _hash_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the SDK's content hashes (BLAKE3), its fingerprints of earlier tests
    forgotten (the same bytes may have been sent before in this process)."""
    _data.KNOWN_HASHES.clear()
    calls: list[int] = []
    real = contenthash.hasher

    def counting(data: Any = b"", **kwargs: Any) -> Any:
        calls.append(1)
        return real(data, **kwargs)

    monkeypatch.setattr(contenthash, "hasher", counting)
    return calls


def _npy_blake3(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return blake3.blake3(buffer.getvalue()).hexdigest()  # not counted


def test_arrays_sent_before_are_not_hashed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _hash_calls(monkeypatch)
    big = np.random.default_rng(0).random((1024, 300), dtype="float32")  # 1.2 MB
    first = _data.encode(big).blob_id
    assert len(calls) == 1
    assert _data.encode(big).blob_id == first  # found by its fingerprint
    assert _data.encode(big.copy()).blob_id == first  # the same bytes elsewhere
    assert len(calls) == 1
    assert first == _npy_blake3(big)


def test_an_array_changed_in_place_gets_its_new_id(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _hash_calls(monkeypatch)
    big = np.zeros((1024, 300), dtype="float32")
    before = _data.encode(big).blob_id
    big[517, 3] = 1e-30  # one value deep inside
    after = _data.encode(big).blob_id
    assert after != before and after == _npy_blake3(big)
    # The same bytes as another shape or dtype are another `.npy` file.
    reshaped = _data.encode(big.reshape(300, 1024)).blob_id
    as_ints = _data.encode(big.view("int32")).blob_id
    assert len({after, reshaped, as_ints}) == 3
    assert reshaped == _npy_blake3(big.reshape(300, 1024))
    assert len(calls) == 4


def test_known_hashes_are_bounded_and_small_arrays_always_hashed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _hash_calls(monkeypatch)
    known = _data.KnownHashes(size=2)
    arrays = [np.full((1 << 18,), i, dtype="float32") for i in range(3)]  # 1 MiB each
    for array in arrays:
        known.blob_id(b"h", array.data.cast("B"))
    assert len(calls) == 3
    known.blob_id(b"h", arrays[2].data.cast("B"))  # still known
    known.blob_id(b"h", arrays[0].data.cast("B"))  # the oldest was forgotten
    assert len(calls) == 4
    small = np.ones(10, dtype="float32")
    known.blob_id(b"h", small.data.cast("B"))
    known.blob_id(b"h", small.data.cast("B"))
    assert len(calls) == 6


def test_npy_checks() -> None:
    good = npy.to_npy_bytes(np.ones((2, 2), dtype="int32"))
    header = npy.parse_header(good)
    assert header.shape == (2, 2) and header.data_len == 16
    with pytest.raises(npy.NpyFormatError, match="truncated"):
        npy.check_length(header, len(good) - 1)
    with pytest.raises(npy.NpyFormatError, match="header"):
        npy.parse_header(b"not an npy file at all")
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(npy.NpyFormatError, match="object"):
        npy.parse_header(buffer.getvalue())
