"""Run the benchmark suite against a production stack and print one table.

    .venv/bin/python -m bench                    # the full sizes (many minutes)
    .venv/bin/python -m bench --quick            # tiny sizes: checks the suite runs
    .venv/bin/python -m bench --only latency,batches --json figures.json

A full run writes its figures, with the machine's description, to
`bench/results/<date>-<cpu>.json` (`--json PATH` elsewhere, `--no-json` not at all); a
`--quick` run writes only where `--json` says.

Starts its own stack (a fresh PostgreSQL database, private Redis queues, `horn
server`, `horn worker`) and a local Keras process, and removes them at the end. Needs
PostgreSQL and Redis on 127.0.0.1 (`HORN_TEST_DATABASE_URL`, `HORN_TEST_REDIS_URL`).
A missed target does not fail the run; a benchmark that raises does (exit status 1).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import Any

from bench import (
    batches,
    datapath,
    events,
    latency,
    report,
    scaleout,
    server_load,
    stability,
    training,
)
from bench.context import Context
from bench.local_keras import LocalKeras
from bench.sizes import FULL, QUICK
from bench.stack import BenchStack

GROUPS: dict[str, ModuleType] = {module.NAME: module for module in (
    training, latency, batches, datapath, server_load, events, stability, scaleout)}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and few repeats (checks that the suite runs)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help=f"run only these benchmarks (repeatable or comma-separated): "
                             f"{', '.join(GROUPS)}")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="write the figures, their raw samples and the machine's "
                             "description to PATH (default for a full run: "
                             "bench/results/<date>-<cpu>.json)")
    parser.add_argument("--no-json", action="store_true",
                        help="write no JSON file")
    parser.add_argument("--keep", action="store_true",
                        help="keep the working directory (process logs) at the end")
    args = parser.parse_args(argv)
    names = [n.strip() for item in args.only for n in item.split(",") if n.strip()]
    unknown = sorted(set(names) - set(GROUPS))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(GROUPS)}")
    args.names = names or list(GROUPS)
    return args


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _run_group(name: str, run: Callable[[Context], list[report.Row]], ctx: Context
               ) -> list[report.Row]:
    began = time.perf_counter()
    _say(f"{name} ...")
    try:
        rows = run(ctx)
    except Exception as exc:
        traceback.print_exc()
        return [report.Row(name, f"FAILED: {type(exc).__name__}: {exc}"[:160], "-",
                           met=False, values={"error": repr(exc)})]
    _say(f"{name} done in {time.perf_counter() - began:.1f} s")
    return rows


def main(argv: list[str] | None = None) -> int:
    """Start the stack, run the selected benchmarks, print the table."""
    args = _parse(argv)
    sizes = QUICK if args.quick else FULL
    machine = report.machine_info()  # dated when the run starts
    workdir = Path(tempfile.mkdtemp(prefix="horn-bench-"))
    stack = BenchStack(workdir)
    local = LocalKeras(workdir / "local-keras.log")
    rows: list[report.Row] = []
    notes: list[str] = []
    began = time.perf_counter()
    failed = True
    try:
        _say(f"starting the stack in {workdir}")
        if {"training", "batches"} & set(args.names):
            local.start()  # imports TensorFlow meanwhile
        stack.start()
        conn = stack.connect()
        ctx = Context(stack=stack, conn=conn, local=local, sizes=sizes, workdir=workdir)
        _say(f"stack up in {time.perf_counter() - began:.1f} s")
        for name in args.names:
            rows += _run_group(name, GROUPS[name].run, ctx)
        notes = ctx.notes
        conn.close()
        failed = any(r.figure.startswith("FAILED") for r in rows)
    finally:
        local.close()
        stack.stop()
        if args.keep or failed:
            _say(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    title = "horn benchmarks" + (" (--quick: tiny sizes, figures not meaningful)"
                                 if args.quick else "")
    print(f"{title}, {time.perf_counter() - began:.0f} s\n")
    print(report.table(rows))
    for note in notes:
        print(f"note: {note}")
    path = _json_path(args, machine)
    if path is not None:
        report.write_json(path, rows, {"quick": args.quick, "groups": args.names,
                                       "sizes": asdict(sizes)}, machine)
        _say(f"figures written to {path}")
    return 1 if failed else 0


def _json_path(args: argparse.Namespace, machine: dict[str, Any]) -> Path | None:
    """Where this run's JSON goes: `--json`, else `bench/results/` for a full run."""
    if args.no_json:
        return None
    if args.json is not None:
        return Path(args.json)
    return None if args.quick else report.default_path(machine)
