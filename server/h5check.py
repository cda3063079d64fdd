"""Inspect an untrusted HDF5 weights file without reading its data.

Run as `python -m horn.server.h5check FILE MAX_BYTES` in a child process with memory and
CPU limits (see `horn.server.importing.check_hdf5`), so that a malformed file can at worst
crash the child. Prints one JSON object: `{"ok": true, "datasets": n, "bytes": total}`
or `{"ok": false, "error": "..."}`.

Refused: external links and soft links (they point outside the tree or loop), external
raw-data files and virtual datasets (they read other files), datasets of other than
plain numeric or boolean dtypes, compression filters other than gzip/lzf/shuffle/
fletcher32 (others load plugin libraries), and declared sizes over the limit (a
sparse dataset may declare terabytes that loading would allocate).
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

MAX_DATASETS = 100_000
MAX_DEPTH = 32
SAFE_FILTERS = frozenset({"gzip", "lzf", "shuffle", "fletcher32"})


class Refused(Exception):
    """The file is not acceptable; the message says why."""


def inspect(path: str, max_bytes: int) -> dict[str, Any]:
    """Walk the file's groups and datasets; return counts or raise Refused."""
    import h5py

    state = {"datasets": 0, "bytes": 0}

    def check_dataset(ds: Any, where: str) -> None:
        if ds.is_virtual:
            raise Refused(f"dataset {where} is a virtual dataset (it reads other files)")
        if ds.external:
            raise Refused(f"dataset {where} stores its data in an external file")
        dtype = ds.dtype
        if dtype.kind not in "biuf" or dtype.fields is not None or \
                h5py.check_vlen_dtype(dtype) is not None:
            raise Refused(f"dataset {where} has dtype {dtype}; weights must be numeric")
        unknown = set(ds._filters) - SAFE_FILTERS
        if unknown:
            raise Refused(f"dataset {where} uses compression filters {sorted(unknown)}")
        shape = ds.shape or ()
        nbytes = math.prod(shape) * dtype.itemsize
        state["datasets"] += 1
        state["bytes"] += nbytes
        if state["datasets"] > MAX_DATASETS:
            raise Refused(f"more than {MAX_DATASETS} datasets")
        if state["bytes"] > max_bytes:
            raise Refused(f"dataset {where} (shape {shape}, {dtype}) brings the declared "
                          f"weights to {state['bytes']:,} bytes, over the limit of "
                          f"{max_bytes:,} bytes")

    def walk(group: Any, where: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise Refused(f"groups nested more than {MAX_DEPTH} deep at {where}")
        for name in group:
            child = f"{where.rstrip('/')}/{name}"
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                raise Refused(f"{child} is an external link to {link.filename!r}")
            if isinstance(link, h5py.SoftLink):
                raise Refused(f"{child} is a soft link to {link.path!r}")
            obj = group.get(name)
            if isinstance(obj, h5py.Group):
                walk(obj, child, depth + 1)
            elif isinstance(obj, h5py.Dataset):
                check_dataset(obj, child)

    try:
        handle = h5py.File(path, "r")
    except Exception as exc:  # noqa: BLE001 - any failure means "not a readable HDF5"
        raise Refused(f"it is not a readable HDF5 file ({exc})") from exc
    with handle:
        walk(handle, "/", 0)
    return state


def limit_self(memory_bytes: int, cpu_seconds: int) -> None:
    """Cap this process's address space and CPU time before touching the file."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main(argv: list[str]) -> int:
    """Entry point of the checking child process: FILE MAX_BYTES [MEMORY CPU_SECONDS]."""
    path, max_bytes = argv[0], int(argv[1])
    if len(argv) >= 4:
        limit_self(int(argv[2]), int(argv[3]))
    try:
        result: dict[str, Any] = {"ok": True, **inspect(path, max_bytes)}
    except Refused as exc:
        result = {"ok": False, "error": str(exc)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
