"""`horn worker --gpus 0,1`: two Celery workers, each pinned to its GPU, named after it,
reporting its devices; their metrics served together on one port. (On a machine
without GPUs each simply sees none; the split is the same.)"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import REDIS_URL
from tests.integration import stack

pytestmark = pytest.mark.integration


def test_one_worker_process_per_gpu(tmp_path: Path) -> None:
    port = stack.free_port()
    env = dict(os.environ, HORN_BROKER_URL=REDIS_URL,
               HORN_QUEUE=f"horn-gpus-{uuid.uuid4().hex[:8]}",
               HORN_DATABASE_URL=f"sqlite:///{tmp_path / 'unused.db'}",
               HORN_WORKER_METRICS_PORT=str(port), HORN_LOG_FORMAT="json",
               PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("CUDA_VISIBLE_DEVICES", None)
    log = tmp_path / "worker.log"
    proc = stack.spawn([stack.python(), "-m", "horn.cli", "worker", "--gpus", "0,1"],
                       env, log)
    try:
        ready: list[dict[str, object]] = []
        deadline = time.monotonic() + 120
        while len(ready) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            ready = [entry for entry in _json_lines(log)
                     if entry.get("event") == "worker_ready"]
        assert len(ready) == 2, log.read_text()[-3000:]
        assert sorted(str(e["cuda_visible_devices"]) for e in ready) == ["0", "1"]
        assert sorted(str(e["worker"]).split("@")[0] for e in ready) == \
            ["horn-gpu0", "horn-gpu1"]
        (plan,) = [e for e in _json_lines(log) if e.get("event") == "worker_plan"]
        assert [w["CUDA_VISIBLE_DEVICES"] for w in plan["workers"]] == ["0", "1"]

        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        infos = [line for line in text.splitlines()
                 if line.startswith("horn_worker_device_info{")]
        assert any('cuda_visible_devices="0"' in line for line in infos), text
        assert any('cuda_visible_devices="1"' in line for line in infos), text
    finally:
        proc.send_signal(signal.SIGTERM)
        stack.stop(proc, timeout=60)
    assert proc.returncode == 0, log.read_text()[-3000:]


def _json_lines(path: Path) -> list[dict[str, object]]:
    entries = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
    return entries
