"""`horn worker --gpus`: one Celery worker per GPU, each pinned with CUDA_VISIBLE_DEVICES."""

from __future__ import annotations

import pytest

from horn.worker.gpus import WorkerSlot, detect_gpus, parse_visible, plan_workers


def test_one_worker_per_gpu_each_pinned_and_named() -> None:
    slots = plan_workers("all", ["0", "1", "2"], distribute="none")
    assert slots == [WorkerSlot("horn-gpu0@%h", {"CUDA_VISIBLE_DEVICES": "0"}),
                     WorkerSlot("horn-gpu1@%h", {"CUDA_VISIBLE_DEVICES": "1"}),
                     WorkerSlot("horn-gpu2@%h", {"CUDA_VISIBLE_DEVICES": "2"})]
    assert [s.env["CUDA_VISIBLE_DEVICES"] for s in plan_workers("1,3", [], "")] == ["1", "3"]


def test_mirrored_gives_one_worker_all_gpus() -> None:
    assert plan_workers("all", ["0", "1"], distribute="mirrored") == [
        WorkerSlot("horn@%h", {"CUDA_VISIBLE_DEVICES": "0,1"})]


def test_no_gpu_means_one_cpu_worker() -> None:
    assert plan_workers("all", [], distribute="none") == [WorkerSlot("horn@%h")]
    assert plan_workers("none", ["0", "1"], distribute="none") == [
        WorkerSlot("horn@%h", {"CUDA_VISIBLE_DEVICES": "-1"})]


def test_gpu_uuids_make_valid_hostnames() -> None:
    (slot,) = plan_workers("GPU-8a1b-77", [], "")
    assert slot.hostname == "horn-gpuGPU-8a1b-77@%h"
    assert slot.env == {"CUDA_VISIBLE_DEVICES": "GPU-8a1b-77"}


def test_bad_value_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="all, none, or GPU ids"):
        plan_workers("every one", [], "")


def test_visible_devices_decide_like_cuda() -> None:
    assert parse_visible("0, 2") == ["0", "2"]
    assert parse_visible("-1") == [] and parse_visible("") == []
    assert parse_visible("1,-1,2") == ["1"]
    assert detect_gpus({"CUDA_VISIBLE_DEVICES": "3,1"}) == ["3", "1"]
