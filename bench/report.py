"""Figures and how they are kept: one `Row` per figure, a table, a JSON file with the
description of the machine that measured them."""

from __future__ import annotations

import json
import math
import os
import platform
import re
import socket
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
"""Where `python -m bench` writes its figures unless `--json PATH` says otherwise."""

PACKAGES = ("horn", "keras", "tensorflow", "tensorflow-cpu", "numpy", "fastapi", "uvicorn",
            "sqlalchemy", "psycopg", "celery", "redis", "httpx", "websockets")
"""Distributions whose installed versions are recorded with the figures."""


@dataclass
class Row:
    """One figure of the suite.

    Attributes:
        group: the benchmark it belongs to (`training`, `latency`, ...).
        figure: what is measured, in words.
        horn: horn's value, formatted with its unit.
        reference: the local-Keras value or the floor it is compared with ("" if none).
        target: the issue's target, in words ("" when the figure is only reported).
        met: whether the target is met (None when there is no target).
        values: the raw numbers (seconds, bytes, ...), for the JSON output.
    """

    group: str
    figure: str
    horn: str
    reference: str = ""
    target: str = ""
    met: bool | None = None
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """`yes`, `NO` or `-` (no target)."""
        return "-" if self.met is None else ("yes" if self.met else "NO")


def median(samples: Sequence[float]) -> float:
    """The median (NaN for no samples)."""
    return statistics.median(samples) if samples else math.nan


def percentile(samples: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0-100), nearest-rank, of `samples` (NaN if empty)."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def ms(seconds: float) -> str:
    """Seconds as milliseconds, `12.3 ms`."""
    return f"{seconds * 1000:.1f} ms"


def secs(seconds: float) -> str:
    """Seconds, `1.23 s`."""
    return f"{seconds:.2f} s"


def mb(n_bytes: float) -> str:
    """A size in MB (10^6 bytes) or bytes when small."""
    return f"{n_bytes:.0f} B" if abs(n_bytes) < 10_000 else f"{n_bytes / 1e6:.1f} MB"


def mbps(bytes_per_second: float) -> str:
    """A rate in MB/s (10^6 bytes per second)."""
    value = bytes_per_second / 1e6
    return f"{value:.0f} MB/s" if value >= 100 else f"{value:.1f} MB/s"


def table(rows: Iterable[Row]) -> str:
    """The rows as a fixed-width text table."""
    head = ("group", "figure", "horn", "reference / floor", "target", "met")
    lines = [(r.group, r.figure, r.horn, r.reference, r.target, r.verdict) for r in rows]
    widths = [max(len(str(cell)) for cell in column) for column in zip(head, *lines,
                                                                        strict=True)]
    rule = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)), rule]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True))
            for line in lines]
    return "\n".join(line.rstrip() for line in out)


def write_json(path: Path, rows: Sequence[Row], meta: dict[str, Any],
               machine: dict[str, Any] | None = None) -> None:
    """Write the figures of one run to `path` as JSON.

    Args:
        path: the file to write (its folder is created if missing).
        rows: the figures, each with its raw values.
        meta: the run's settings (`quick`, `groups`, `sizes`).
        machine: the machine's description; `machine_info()` when not given.
    """
    body = _clean({"machine": machine if machine is not None else machine_info(),
                   "meta": meta, "rows": [asdict(r) for r in rows]})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2, default=str) + "\n")


def machine_info(now: datetime | None = None) -> dict[str, Any]:
    """Describe the machine the figures are taken on: what a reader needs to compare
    two runs (CPU, cores, memory, OS, Python, package versions, date)."""
    cpu = _cpuinfo()
    return {
        "date": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "cpu_model": cpu.get("model name") or platform.processor() or platform.machine(),
        "cpu_family_model": ":".join(cpu[k] for k in ("cpu family", "model") if k in cpu)
                            or None,
        "cpu_mhz": float(cpu["cpu MHz"]) if "cpu MHz" in cpu else None,
        "virtualized": "hypervisor" in cpu.get("flags", "").split(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                        else os.cpu_count(),
        "memory_bytes": _memory_bytes(),
        "os": _os_name(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "packages": _package_versions(PACKAGES),
    }


def default_path(machine: dict[str, Any], quick: bool = False,
                 directory: Path = RESULTS_DIR) -> Path:
    """`<directory>/<date>-<cpu or host>[-quick].json`, numbered `-2`, `-3`, ... rather
    than overwriting an earlier run of the same day."""
    name = _slug(str(machine.get("cpu_model") or "")) or _slug(str(machine.get("host") or ""))
    stem = f"{str(machine['date'])[:10]}-{name or 'machine'}" + ("-quick" if quick else "")
    path, n = directory / f"{stem}.json", 1
    while path.exists():
        n += 1
        path = directory / f"{stem}-{n}.json"
    return path


def _slug(text: str) -> str:
    """`Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz` -> `intel-xeon-platinum-8375c`."""
    text = re.sub(r"@.*$|\((r|tm)\)|\b(cpu|processor)\b", " ", text.lower())
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:48].strip("-")


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of `/proc/cpuinfo` (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def _memory_bytes() -> int | None:
    """Physical memory, from `os.sysconf` (None where the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def _os_name() -> str:
    """`PRETTY_NAME` of `/etc/os-release`, else Python's platform string."""
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.platform()


def _package_versions(names: Iterable[str]) -> dict[str, str]:
    """Installed versions of the named distributions (those not installed left out)."""
    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _clean(value: Any) -> Any:
    """NaN and infinities as null (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value
