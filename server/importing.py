"""Check an uploaded `.keras` file before anything uses it.

A `.keras` file is a zip archive of `metadata.json`, `config.json` (the model in
Keras's JSON format) and `model.weights.h5` (HDF5). Keras's own loader runs code from
such files when asked nicely (`Lambda` bytecode, arbitrary modules, custom objects), and
zip and HDF5 both have ways to point elsewhere or to expand without bound. This module
unpacks with size and ratio limits, validates `config.json` against the allow-list,
and inspects the HDF5 file in a child process with resource limits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from horn.schemas.validate import SpecError, validate_keras_config

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
CONFIG_MAX_BYTES = 64 * 1024**2
MAX_MEMBERS = 16
ALLOWED_MEMBERS = ("metadata.json", "config.json", "model.weights.h5")
RATIO_FREE_BYTES = 1024**2
"""Members smaller than this are not held to the compression-ratio limit."""
H5CHECK_TIMEOUT = 60
H5CHECK_MEMORY = 4 * 1024**3


class ImportRefused(ValueError):
    """The file is not an acceptable `.keras` file; the message says why."""


@dataclass
class CheckedArchive:
    """What a checked `.keras` file holds."""

    config: dict[str, Any]
    weights: Path | None
    keras_version: str | None
    weights_bytes: int = 0


def _refuse(reason: str) -> ImportRefused:
    return ImportRefused(f"The uploaded .keras file was refused: {reason}")


def strict_json(data: bytes, what: str) -> Any:
    """Parse JSON, refusing NaN/Infinity and integers beyond 64 bits."""

    def constant(name: str) -> Any:
        raise _refuse(f"{what} contains {name}, which is not valid JSON. Save the model "
                      "with finite values only.")

    def integer(text: str) -> int:
        if len(text.lstrip("-")) > 19 or abs(int(text)) > 2**63 - 1:
            raise _refuse(f"{what} contains the integer {text[:30]}..., beyond 64 bits.")
        return int(text)

    try:
        return json.loads(data, parse_constant=constant, parse_int=integer)
    except ImportRefused:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise _refuse(f"{what} is not valid JSON ({exc}).") from exc


def check_keras_file(path: Path, workdir: Path, *, max_unpacked_bytes: int,
                     max_ratio: float, max_weights_bytes: int) -> CheckedArchive:
    """Unpack and check a `.keras` file; the weights file lands in `workdir`.

    Raises:
        ImportRefused: legacy `.h5` model, not a zip, unexpected members, zip bomb,
            a refused config (the allow-list's message) or a refused HDF5 file.
    """
    with path.open("rb") as handle:
        head = handle.read(8)
    if head == HDF5_MAGIC:
        raise _refuse(
            "it is a legacy HDF5 model (.h5), which horn does not accept: such files "
            "carry Python bytecode for Lambda layers. Save it in the Keras 3 format with "
            "`model.save('model.keras')` and upload that.")
    if not zipfile.is_zipfile(path):
        raise _refuse("expected a zip archive as `model.save('model.keras')` writes it; "
                      "received something else.")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _refuse(f"the zip archive is damaged ({exc}).") from exc
    with archive:
        members = _check_members(archive, max_unpacked_bytes, max_ratio)
        config = strict_json(_read(archive, members["config.json"], CONFIG_MAX_BYTES),
                             "config.json")
        metadata: Any = {}
        if "metadata.json" in members:
            metadata = strict_json(_read(archive, members["metadata.json"], 1024**2),
                                   "metadata.json")
        weights: Path | None = None
        if "model.weights.h5" in members:
            weights = workdir / "model.weights.h5"
            _extract(archive, members["model.weights.h5"], weights)
    if not isinstance(config, dict):
        raise _refuse("config.json must hold one JSON object (the model's config).")
    if config.get("class_name") not in ("Sequential", "Functional", "Model"):
        raise _refuse("config.json must describe a `Sequential` or `Functional` model. "
                      f"Received: class_name={str(config.get('class_name'))[:100]!r}")
    try:
        validate_keras_config(config, where="config.json")
    except SpecError as exc:
        raise _refuse(str(exc)) from exc
    weights_bytes = 0
    if weights is not None:
        weights_bytes = check_hdf5(weights, max_weights_bytes)
    version = metadata.get("keras_version") if isinstance(metadata, dict) else None
    return CheckedArchive(config=config, weights=weights,
                          keras_version=version if isinstance(version, str) else None,
                          weights_bytes=weights_bytes)


def _check_members(archive: zipfile.ZipFile, max_unpacked: int,
                   max_ratio: float) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise _refuse(f"it has {len(infos)} members; a .keras file has at most "
                      f"{MAX_MEMBERS}.")
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        if name.startswith("assets/") or name == "assets":
            raise _refuse(f"it holds `{name}`: assets (e.g. lookup-layer vocabulary files) "
                          "are not accepted; pass vocabularies inline as lists.")
        if name not in ALLOWED_MEMBERS:
            raise _refuse(f"unexpected member {name[:100]!r}; expected only "
                          f"{', '.join(ALLOWED_MEMBERS)}.")
        if name in members:
            raise _refuse(f"the member {name!r} appears twice.")
        if info.flag_bits & 0x1:
            raise _refuse(f"the member {name!r} is encrypted.")
        total += info.file_size
        if total > max_unpacked:
            raise _refuse(f"it unpacks to more than {max_unpacked:,} bytes "
                          "(HORN_MAX_UNPACKED_BYTES).")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FREE_BYTES and ratio > max_ratio:
            raise _refuse(f"the member {name!r} expands {ratio:,.0f} times "
                          f"({info.compress_size:,} to {info.file_size:,} bytes), more "
                          f"than the limit of {max_ratio:g} (HORN_MAX_COMPRESSION_RATIO): "
                          "this looks like a zip bomb.")
        members[name] = info
    if "config.json" not in members:
        raise _refuse("it has no config.json; save the model with "
                      "`model.save('model.keras')`.")
    return members


def _chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> Any:
    """The member's bytes, never more than it declared (nor than `limit`)."""
    budget = min(info.file_size, limit)
    read = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(1024**2):
                read += len(chunk)
                if read > budget:
                    raise _refuse(f"the member {info.filename!r} holds more bytes than "
                                  "its header declares, or more than allowed.")
                yield chunk
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise _refuse(f"the member {info.filename!r} is damaged ({exc}).") from exc
    except NotImplementedError as exc:
        raise _refuse(f"the member {info.filename!r} uses an unsupported compression "
                      f"({exc}).") from exc


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.file_size > limit:
        raise _refuse(f"{info.filename} is {info.file_size:,} bytes; the limit is "
                      f"{limit:,}.")
    return b"".join(_chunks(archive, info, limit))


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    with target.open("wb") as out:
        for chunk in _chunks(archive, info, info.file_size):
            out.write(chunk)


def check_hdf5(path: Path, max_bytes: int) -> int:
    """Inspect an HDF5 weights file in a child process (`horn.server.h5check`) with memory
    and CPU limits; returns the declared bytes of its datasets.

    Raises:
        ImportRefused: external or soft links, external or virtual storage, unsafe
            dtypes or filters, declared sizes over `max_bytes`, or an unreadable file.
    """
    with tempfile.TemporaryDirectory(prefix="horn-h5-") as plugins:
        env = dict(os.environ, HDF5_PLUGIN_PATH=plugins, OPENBLAS_NUM_THREADS="1",
                   OMP_NUM_THREADS="1")
        try:
            done = subprocess.run(
                [sys.executable, "-m", "horn.server.h5check", str(path), str(max_bytes),
                 str(H5CHECK_MEMORY), str(H5CHECK_TIMEOUT)],
                capture_output=True, text=True, timeout=H5CHECK_TIMEOUT + 5, env=env,
                cwd=Path(__file__).resolve().parent.parent)
        except subprocess.TimeoutExpired as exc:
            raise _refuse("model.weights.h5 took too long to inspect.") from exc
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise _refuse("model.weights.h5 could not be inspected (the checker exited with "
                      f"{done.returncode}).") from exc
    if not result.get("ok"):
        raise _refuse(f"model.weights.h5 is not acceptable: {result.get('error')}.")
    return int(result.get("bytes", 0))
