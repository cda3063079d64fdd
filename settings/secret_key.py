"""The key that signs dashboard sessions: refused when it is a placeholder."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

_PLACEHOLDER_SECRETS = {"changeme", "changethis", "secret", "secretkey", "placeholder",
                        "xxx", "todo", "none", "default", "development", "dev", "test"}


def is_placeholder_secret(value: str) -> bool:
    """Whether a secret is a placeholder (`changeme`, `change-me-...`) or too short."""
    plain = "".join(ch for ch in value.lower() if ch.isalnum())
    return (len(value) < 16 or plain in _PLACEHOLDER_SECRETS or plain.startswith("changeme")
            or plain.startswith("changethis"))


def development_secret(data_dir: Path) -> str:
    """A random key for development, kept in `data_dir/secret_key` across restarts."""
    path = data_dir / "secret_key"
    try:
        existing = path.read_text().strip()
    except OSError:
        existing = ""
    if len(existing) >= 32:
        return existing
    key = secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
    except OSError:  # a read-only data directory: sessions last as long as the process
        pass
    return key
