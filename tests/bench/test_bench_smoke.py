"""`make bench` runs: the whole suite with tiny sizes (`--quick`) against a real stack.

Only that it runs and reports every figure: benchmarks are never timed assertions.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bench.run import GROUPS
from tests.integration import stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(480)]


def test_quick_suite_runs_and_prints_the_table(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    done = subprocess.run([stack.python(), "-m", "bench", "--quick", "--json", str(out)],
                          cwd=stack.ROOT, capture_output=True, text=True, timeout=420)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("group "))
    assert "target" in lines[header] and "met" in lines[header]
    table = lines[header + 2:]
    for group in GROUPS:
        assert any(line.startswith(group) for line in table), (group, done.stdout)
    assert not any("FAILED" in line for line in table), done.stdout
    rows = json.loads(out.read_text())["rows"]
    assert {row["group"] for row in rows} == set(GROUPS)
    assert all(row["horn"] not in ("", "-") for row in rows)
    assert any("fixed latency" in row["figure"] for row in rows)
