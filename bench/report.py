"""Figures and how they are printed: one `Row` per figure, a table, a JSON file."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


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


def write_json(path: Path, rows: Sequence[Row], meta: dict[str, Any]) -> None:
    """Write the rows (with their raw values) and the run's settings to `path`."""
    body = _clean({"meta": meta, "rows": [asdict(r) for r in rows]})
    path.write_text(json.dumps(body, indent=2, default=str) + "\n")


def _clean(value: Any) -> Any:
    """NaN and infinities as null (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value
