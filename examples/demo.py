"""`make demo`: start the embedded stack (`horn up`), train a real example, stop.

The server and the worker run as separate processes on SQLite and a file-system
broker in a temporary data directory; nothing else needs to be installed or running.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    """Run the demo; returns the exit code."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="horn-demo-") as data_dir:
        env = dict(os.environ, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
        for key in ("HORN_DATABASE_URL", "HORN_BROKER_URL", "HORN_BLOB_DIR"):
            env.pop(key, None)
        print(f"Starting horn (server + worker) with data in {data_dir} ...", flush=True)
        up = subprocess.Popen([sys.executable, "-m", "horn.cli", "up", "--data-dir",
                               data_dir, "--port", str(port)], cwd=ROOT, env=env)
        try:
            deadline = time.monotonic() + 120
            while True:
                if up.poll() is not None:
                    print("horn up exited early; see the messages above.", file=sys.stderr)
                    return 1
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    print("horn did not become healthy in 120 s.", file=sys.stderr)
                    return 1
                time.sleep(0.3)
            print(f"horn is up at {url}. Training examples/digits_mlp.py remotely:\n",
                  flush=True)
            run = subprocess.run([sys.executable, str(ROOT / "examples" / "digits_mlp.py")],
                                 cwd=ROOT, env=dict(env, HORN_URL=url))
            return run.returncode
        finally:
            up.terminate()
            try:
                up.wait(timeout=30)
            except subprocess.TimeoutExpired:
                up.kill()


if __name__ == "__main__":
    raise SystemExit(main())
