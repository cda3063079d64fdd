"""Which Celery worker processes `horn worker` runs: one per GPU by default.

Each process sees one GPU (`CUDA_VISIBLE_DEVICES`), takes one job at a time and has its
own Celery hostname (`horn-gpu0@host`, ...); their metrics are served together on one
port by `horn worker`. With
`HORN_DISTRIBUTE=mirrored` a single process sees every GPU, so that one job trains on
all of them through `tf.distribute.MirroredStrategy`.

Nothing here imports TensorFlow: the GPUs are found with `nvidia-smi` (or the
`/dev/nvidiaN` device files), never by initialising CUDA in the parent.
"""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field

CPU_HOSTNAME = "horn@%h"


@dataclass(frozen=True)
class WorkerSlot:
    """One Celery worker process to start.

    Attributes:
        hostname: its Celery `--hostname` (`%h` is the machine's name).
        env: environment variables to set for it (`CUDA_VISIBLE_DEVICES`).
    """

    hostname: str
    env: dict[str, str] = field(default_factory=dict)


def parse_visible(value: str) -> list[str]:
    """GPU ids in a `CUDA_VISIBLE_DEVICES` value; like CUDA, stop at the first
    invalid entry (`-1` hides every GPU)."""
    ids: list[str] = []
    for entry in value.split(","):
        entry = entry.strip()
        if not entry or entry.startswith("-"):
            break
        ids.append(entry)
    return ids


def detect_gpus(environ: Mapping[str, str]) -> list[str]:
    """The GPUs this machine (or container) offers, as `CUDA_VISIBLE_DEVICES` ids.

    `CUDA_VISIBLE_DEVICES`, when set, decides; else `nvidia-smi`; else the count of
    `/dev/nvidiaN` device files; else none.
    """
    if "CUDA_VISIBLE_DEVICES" in environ:
        return parse_visible(environ["CUDA_VISIBLE_DEVICES"])
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, "--query-gpu=index", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=30, check=True)
            return [line.strip() for line in out.stdout.splitlines() if line.strip()]
        except (OSError, subprocess.SubprocessError):
            pass
    nodes = [p for p in glob.glob("/dev/nvidia*") if re.fullmatch(r"/dev/nvidia\d+", p)]
    return [str(i) for i in range(len(nodes))]


def plan_workers(gpus: str, detected: list[str], distribute: str) -> list[WorkerSlot]:
    """The worker processes for a `--gpus` value.

    Args:
        gpus: `all` (every detected GPU), `none` (CPU only), or ids such as `0,1`.
        detected: the GPUs found on this machine (`detect_gpus`).
        distribute: `mirrored` for one process over all the GPUs, else one per GPU.

    Raises:
        ValueError: `gpus` is none of these.
    """
    choice = gpus.strip().lower()
    if choice in ("", "all"):
        ids = detected
    elif choice == "none":
        return [WorkerSlot(CPU_HOSTNAME, {"CUDA_VISIBLE_DEVICES": "-1"})]
    elif re.fullmatch(r"[\w-]+(,[\w-]+)*", choice):
        ids = [i.strip() for i in gpus.split(",")]
    else:
        raise ValueError("Expected --gpus all, none, or GPU ids such as 0,1 "
                         f"(HORN_WORKER_GPUS). Received: {gpus!r}")
    if not ids:
        return [WorkerSlot(CPU_HOSTNAME)]
    if distribute == "mirrored":
        return [WorkerSlot(CPU_HOSTNAME, {"CUDA_VISIBLE_DEVICES": ",".join(ids)})]
    return [WorkerSlot(f"horn-gpu{re.sub(r'[^A-Za-z0-9]+', '-', gpu)}@%h",
                       {"CUDA_VISIBLE_DEVICES": gpu})
            for gpu in ids]
