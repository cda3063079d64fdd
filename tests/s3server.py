"""A real S3-compatible HTTP server for tests: moto in server mode, on a free port."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "horn-test", "AWS_SECRET_ACCESS_KEY": "horn-test-secret",
               "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass
class S3Server:
    """A running S3 endpoint and the environment a horn process needs to use it."""

    endpoint: str

    def env(self) -> dict[str, str]:
        """Credentials, region and `HORN_S3_ENDPOINT_URL`."""
        return {**CREDENTIALS, "HORN_S3_ENDPOINT_URL": self.endpoint}

    def client(self) -> object:
        """A boto3 client of this endpoint."""
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """Start moto's S3 server (a real HTTP server in a thread) for the block."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    for key, value in CREDENTIALS.items():
        os.environ.setdefault(key, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        server.stop()
