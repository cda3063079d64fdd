"""Parsing and checking `.npy` headers without ever unpickling anything.

Arrays travel as `.npy` bytes. Both the SDK (before upload) and the server (while
receiving) check them with these helpers: object dtypes are refused, and the header's
shape must account for exactly the bytes that follow it.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass

import numpy as np
from numpy.lib import format as npy_format

MAX_HEADER_BYTES = 65_536
ALLOWED_KINDS = frozenset("biufcUS")
"""bool, signed/unsigned int, float, complex, fixed-width unicode and bytes."""


class NpyFormatError(ValueError):
    """The bytes are not an acceptable `.npy` array."""


@dataclass(frozen=True)
class NpyHeader:
    """What the header of an `.npy` file says."""

    dtype: np.dtype
    shape: tuple[int, ...]
    fortran_order: bool
    header_len: int

    @property
    def data_len(self) -> int:
        """Bytes of array data that must follow the header."""
        return math.prod(self.shape) * self.dtype.itemsize


def check_dtype(dtype: np.dtype, *, what: str = "array") -> None:
    """Refuse dtypes that cannot travel safely (objects, structured, void)."""
    if dtype.hasobject or dtype.kind not in ALLOWED_KINDS or dtype.fields is not None:
        raise NpyFormatError(
            f"Expected {what} of a numeric, boolean or fixed-width string dtype. "
            f"Received: dtype={dtype}. Convert it first, e.g. `np.asarray(x, dtype='float32')`; "
            "object arrays (Python objects, ragged lists) cannot be sent to horn."
        )


def parse_header(prefix: bytes) -> NpyHeader:
    """Parse the header at the start of `.npy` bytes (the first 64 KiB are enough).

    Raises:
        NpyFormatError: when the bytes are not `.npy` or describe an unsafe array.
    """
    stream = io.BytesIO(prefix[:MAX_HEADER_BYTES])
    try:
        version = npy_format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(stream)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = npy_format.read_array_header_2_0(stream)
        else:  # pragma: no cover - numpy only knows these versions
            raise NpyFormatError(f"Unsupported .npy format version {version}.")
    except NpyFormatError:
        raise
    except Exception as exc:  # numpy raises ValueError/EOFError/SyntaxError here
        raise NpyFormatError(
            "Expected the bytes of a `.npy` file (as written by `np.save`). "
            f"Received bytes whose header could not be read: {exc}"
        ) from exc
    check_dtype(dtype)
    if any(dim < 0 for dim in shape):
        raise NpyFormatError(f"Invalid array shape in .npy header: {shape}")
    return NpyHeader(dtype=dtype, shape=tuple(shape), fortran_order=fortran,
                     header_len=stream.tell())


def check_length(header: NpyHeader, total_len: int) -> None:
    """Check that header plus data account for exactly `total_len` bytes."""
    expected = header.header_len + header.data_len
    if expected != total_len:
        raise NpyFormatError(
            f"The .npy header announces shape {header.shape} of dtype {header.dtype} "
            f"({expected} bytes with the header), but {total_len} bytes were received. "
            "The upload was truncated or the file is corrupt; send it again."
        )


def to_npy_bytes(array: np.ndarray) -> bytes:
    """Serialize an array as `.npy` bytes (C order, no pickle)."""
    buffer = io.BytesIO()
    npy_format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def from_npy_bytes(data: bytes) -> np.ndarray:
    """Read `.npy` bytes into an array, refusing pickled objects."""
    header = parse_header(data[:MAX_HEADER_BYTES])
    check_length(header, len(data))
    return np.load(io.BytesIO(data), allow_pickle=False)


DATA_URL_PREFIX = "data:application/x-npy;base64,"
"""How a small array travels inside JSON (a job's predictions): an RFC 2397 `data:` URL
of its `.npy` bytes."""


def to_data_url(data: bytes) -> str:
    """`.npy` bytes as a `data:` URL (base64)."""
    return DATA_URL_PREFIX + base64.b64encode(data).decode("ascii")


def is_data_url(ref: object) -> bool:
    """Whether `ref` is an array inside a `data:` URL rather than a blob id."""
    return isinstance(ref, str) and ref.startswith(DATA_URL_PREFIX)


def from_data_url(ref: str) -> np.ndarray:
    """The array inside a `data:` URL made by `to_data_url`, without unpickling.

    Raises:
        NpyFormatError: not such a URL, or its bytes are not an acceptable `.npy` array.
    """
    if not is_data_url(ref):
        raise NpyFormatError(f"Expected a `{DATA_URL_PREFIX}...` URL. Received: {ref[:80]!r}")
    try:
        data = base64.b64decode(ref[len(DATA_URL_PREFIX):], validate=True)
    except ValueError as exc:
        raise NpyFormatError(f"The `data:` URL's base64 is invalid: {exc}") from exc
    return from_npy_bytes(data)
