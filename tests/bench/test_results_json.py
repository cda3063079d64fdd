"""`make bench` keeps its figures as data: one JSON file per run in `bench/results/`,
with the machine that measured them. The real suite is not run here (it takes many
minutes); these tests cover where the file goes and what it says."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

from bench import report, run

MACHINE_KEYS = {"date", "host", "cpu_model", "cores", "memory_bytes", "os", "python",
                "packages"}


def test_machine_description_names_cpu_cores_memory_os_python_and_packages() -> None:
    machine = report.machine_info(now=datetime(2026, 12, 5, 9, 30, tzinfo=UTC))
    assert set(machine) >= MACHINE_KEYS
    assert machine["date"] == "2026-12-05T09:30:00+00:00"
    assert machine["cpu_model"]
    assert isinstance(machine["cores"], int) and machine["cores"] >= 1
    assert machine["memory_bytes"] is None or machine["memory_bytes"] > 0
    assert machine["python"].count(".") == 2
    assert machine["packages"]["horn"]
    assert "numpy" in machine["packages"]


def test_written_file_holds_machine_settings_and_figures(tmp_path: Path) -> None:
    rows = [report.Row("latency", "tiny fit: fixed latency", "60.3 ms", target="<= 150 ms",
                       met=True, values={"median_s": 0.0603, "samples_s": [0.06, math.nan]})]
    machine = report.machine_info()
    out = tmp_path / "deep" / "figures.json"
    report.write_json(out, rows, {"quick": False, "groups": ["latency"]}, machine)
    body = json.loads(out.read_text())  # strict JSON: NaN written as null
    assert body["machine"] == json.loads(json.dumps(machine))
    assert body["meta"]["groups"] == ["latency"]
    assert body["rows"][0]["figure"] == "tiny fit: fixed latency"
    assert body["rows"][0]["met"] is True
    assert body["rows"][0]["values"]["samples_s"] == [0.06, None]


def test_default_file_is_dated_named_by_cpu_and_never_overwritten(tmp_path: Path) -> None:
    machine = {"date": "2026-12-05T09:30:00+00:00", "host": "vm-1",
               "cpu_model": "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"}
    first = report.default_path(machine, directory=tmp_path)
    assert first == tmp_path / "2026-12-05-intel-xeon-platinum-8375c.json"
    first.write_text("{}")
    assert report.default_path(machine, directory=tmp_path).name == (
        "2026-12-05-intel-xeon-platinum-8375c-2.json")
    unnamed = report.default_path({**machine, "cpu_model": ""}, directory=tmp_path)
    assert unnamed.name == "2026-12-05-vm-1.json"
    assert report.default_path(machine, quick=True, directory=tmp_path).name.endswith(
        "-quick.json")


def test_results_folder_is_in_the_repository() -> None:
    assert Path(run.__file__).resolve().parent / "results" == report.RESULTS_DIR
    assert report.RESULTS_DIR.is_dir()


def test_full_run_writes_to_results_by_default_quick_run_only_when_asked(
        tmp_path: Path) -> None:
    machine = {"date": "2026-12-05T09:30:00+00:00", "host": "h", "cpu_model": "AMD EPYC"}
    full = run._json_path(run._parse([]), machine)
    assert full is not None and full.parent == report.RESULTS_DIR
    assert full.name.startswith("2026-12-05-amd-epyc")
    assert run._json_path(run._parse(["--quick"]), machine) is None
    chosen = tmp_path / "x.json"
    assert run._json_path(run._parse(["--quick", "--json", str(chosen)]), machine) == chosen
    assert run._json_path(run._parse(["--no-json"]), machine) is None
