"""docker-compose.yml, its CPU override, .env.example and the Dockerfile agree with
each other and with what an operator relies on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy import compose
from tests.integration.stack import ROOT

SECRETS = {"POSTGRES_PASSWORD": "pg-secret", "REDIS_PASSWORD": "redis-secret",
           "HORN_SECRET_KEY": "a1d4c7e9b2f60853ae91c4d7f02b6e38c5a9d1f4e7b0c3a6"}


def _docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is missing: `make test` installs it "
                        "(scripts/ensure-deploy-tools.sh)")
        pytest.skip("docker-compose is not installed (scripts/ensure-deploy-tools.sh)")
    return found


def _config(files: list[Path], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    args = [_docker_compose(), "--project-directory", str(ROOT)]
    for path in files:
        args += ["-f", str(path)]
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run([*args, "config", "-q"], env={**clean, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_docker_compose_accepts_the_file() -> None:
    done = _config([compose.COMPOSE_FILE], SECRETS)
    assert done.returncode == 0, done.stderr


def test_missing_secret_stops_compose_with_a_message() -> None:
    done = _config([compose.COMPOSE_FILE], {"REDIS_PASSWORD": "x"})
    assert done.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in done.stderr


def test_cpu_override_drops_the_gpu_reservation(tmp_path: Path) -> None:
    import yaml

    merged = compose.merge(compose.load(compose.COMPOSE_FILE, SECRETS),
                           compose.load(compose.CPU_FILE, SECRETS))
    worker = merged["services"]["worker"]
    assert "deploy" not in worker
    assert worker["build"]["target"] == "worker-cpu"
    assert worker["command"][-2:] == ["--gpus", "none"]
    out = tmp_path / "merged.yml"
    out.write_text(yaml.safe_dump(merged))
    done = _config([out], SECRETS)
    assert done.returncode == 0, done.stderr


def test_what_an_operator_relies_on() -> None:
    services: dict[str, Any] = compose.load(compose.COMPOSE_FILE, SECRETS)["services"]
    # PostgreSQL and Redis are never published on the host.
    assert "ports" not in services["postgres"] and "ports" not in services["redis"]
    # The API is published to the host's loopback only.
    assert all(str(p).startswith("127.0.0.1:") for p in services["server"]["ports"])
    redis_command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_command
    assert "--maxmemory-policy noeviction" in redis_command
    for name in ("postgres", "redis", "server", "worker"):
        assert services[name]["healthcheck"]["test"], name
    ready = {"postgres": "service_healthy", "redis": "service_healthy",
             "migrate": "service_completed_successfully"}
    for name in ("server", "worker"):
        assert {k: v["condition"] for k, v in services[name]["depends_on"].items()} == ready
    assert services["migrate"]["command"] == ["horn", "db", "upgrade"]
    (gpu,) = services["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert gpu["driver"] == "nvidia" and gpu["capabilities"] == ["gpu"]
    # Scalable: no fixed container name, no host port.
    assert "container_name" not in services["worker"] and "ports" not in services["worker"]
    assert services["flower"]["profiles"] == ["monitoring"]
    assert services["server"]["environment"]["HORN_AUTH"] == "keys"
    assert "HORN_ALLOW_UNAUTHENTICATED_BIND" not in services["server"]["environment"]


def test_env_example_names_every_variable_of_the_compose_file() -> None:
    text = compose.COMPOSE_FILE.read_text() + compose.CPU_FILE.read_text()
    used = set(re.findall(r"\$\{(\w+)", text))
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^(\w+)=", example, flags=re.M))
    assert used <= listed, sorted(used - listed)
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert required == {"POSTGRES_PASSWORD", "REDIS_PASSWORD", "HORN_SECRET_KEY"}
    assert all(re.search(rf"^{name}=$", example, flags=re.M) for name in required)


def test_images_are_pinned_and_run_as_a_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = set(re.findall(r"^FROM \S+ AS (\S+)", dockerfile, flags=re.M))
    services = compose.load(compose.COMPOSE_FILE, SECRETS)["services"]
    cpu = compose.load(compose.CPU_FILE, SECRETS)["services"]
    targets = {s["build"]["target"] for s in [*services.values(), *cpu.values()]
               if "build" in s}
    assert targets <= stages and {"server", "worker", "worker-cpu"} <= stages
    for stage in ("server", "worker", "worker-cpu"):
        body = dockerfile.split(f" AS {stage}\n", 1)[1].split("\nFROM ", 1)[0]
        assert "\nUSER horn" in body, stage
        assert "--constraint" in body, stage
    server = dockerfile.split(" AS server\n", 1)[1].split("\nFROM ", 1)[0]
    assert "tensorflow" not in server and "[server]" in server
    assert 'tensorflow[and-cuda]==2.21.0' in dockerfile
    for image in [s["image"] for s in services.values() if "build" not in s]:
        assert re.fullmatch(r"[\w./-]+:[\w.-]*\d[\w.-]*", image), image
    constraints = (ROOT / "deploy" / "constraints.txt").read_text()
    for pin in ("tensorflow==2.21.0", "keras==3.15.1", "boto3==", "fastapi=="):
        assert pin in constraints
    ignored = (ROOT / ".dockerignore").read_text()
    assert ignored.splitlines()[1] == "*" or "\n*\n" in ignored
