"""`horn worker`: Celery workers, one per GPU, supervised as one."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

from horn.settings import WorkerSettings


def _worker_command(concurrency: int, queues: str, loglevel: str,
                    quiet: bool = False, hostname: str = "horn@%h") -> list[str]:
    return [sys.executable, "-m", "celery", *(["--quiet"] if quiet else []),
            "-A", "horn.worker.app", "worker", "--hostname", hostname,
            "--pool", "prefork", "--concurrency", str(concurrency), "-Q", queues,
            "--without-mingle", "--without-gossip", "--loglevel", loglevel]


def celery_queues(names: str) -> str:
    """The Celery queues behind comma-separated named queues, high priority first."""
    from horn.schemas.queues import check_queue_name, expand_queues

    try:
        named = [check_queue_name(n.strip()) for n in names.split(",") if n.strip()]
    except ValueError as exc:
        raise SystemExit(f"horn worker: {exc}") from None
    return ",".join(expand_queues(named))


def cmd_worker(args: argparse.Namespace) -> int:
    """`horn worker`: Celery workers, one per GPU (`--gpus`), one job at a time each.

    With one process to run, it becomes that Celery worker; with several (one per
    GPU), it supervises them and serves their metrics on `HORN_WORKER_METRICS_PORT`:
    a signal is passed on to all, and when one exits the others are stopped, so that
    a container restarts as a whole.
    """
    from horn.worker.gpus import detect_gpus, plan_workers

    settings = WorkerSettings()
    gpus = args.gpus or settings.worker_gpus
    detected = detect_gpus(os.environ) if gpus.strip().lower() in ("", "all") else []
    try:
        slots = plan_workers(gpus, detected, settings.distribute)
    except ValueError as exc:
        raise SystemExit(f"horn worker: {exc}") from None
    queues = celery_queues(args.queues or settings.queue)
    node = socket.gethostname()
    print(json.dumps({"event": "worker_plan", "gpus": gpus, "detected": detected,
                      "distribute": settings.distribute or "none",
                      "workers": [{"hostname": s.hostname.replace("%h", node), **s.env}
                                  for s in slots]}), file=sys.stderr, flush=True)
    commands = [(_worker_command(args.concurrency, queues, args.loglevel,
                                 hostname=slot.hostname),
                 dict(os.environ, **slot.env,
                      HORN_WORKER_HOSTNAME=slot.hostname.replace("%h", node)))
                for slot in slots]
    if len(commands) == 1:
        command, env = commands[0]
        os.execve(sys.executable, command, env)
    if settings.worker_metrics_port:
        # One metrics endpoint for all the processes: their children write samples to
        # one shared directory, which this supervisor serves.
        from horn.worker import metrics

        metrics.prepare(settings.worker_metrics_port)
        metrics.serve(settings.worker_metrics_port, settings.worker_metrics_host)
        for _, env in commands:
            env.update(PROMETHEUS_MULTIPROC_DIR=os.environ[metrics.MULTIPROC_ENV],
                       HORN_WORKER_METRICS_PORT="0")
    return _supervise(commands)


def _supervise(commands: list[tuple[list[str], dict[str, str]]]) -> int:
    """Run the worker processes until a signal or until one of them exits."""
    procs = [subprocess.Popen(command, env=env) for command, env in commands]
    received: list[int] = []

    def forward(signum: int, _: object) -> None:
        received.append(signum)
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = 0
    while all(proc.poll() is None for proc in procs):
        time.sleep(0.2)
    if not received:
        failed = next(proc for proc in procs if proc.returncode is not None)
        code = failed.returncode or 1
        print(f"horn: a worker process exited with {failed.returncode}; stopping the "
              "others.", file=sys.stderr, flush=True)
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
    for proc in procs:
        proc.wait()  # a warm shutdown lets a running job stop cleanly
    return code


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `horn worker` to the parser."""
    worker = sub.add_parser("worker", help="run a Celery worker")
    worker.add_argument("--concurrency", type=int, default=1,
                        help="jobs at once per worker process; default 1")
    worker.add_argument("--gpus", help="all (one worker process per visible GPU; one CPU "
                        "worker when there is none), none (CPU only), or ids such as 0,1 "
                        "(default HORN_WORKER_GPUS, all)")
    worker.add_argument("--queues", help="comma-separated queues (default HORN_QUEUE)")
    worker.add_argument("--loglevel", default="INFO")
    worker.set_defaults(func=cmd_worker)
