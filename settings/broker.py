"""Settings of the broker (Celery's transport) and the time limits it must outlast."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from horn.settings.base import HornSettings

_FILESYSTEM_FOLDERS = ("queue", "processed", "control")


class BrokerSettings(HornSettings):
    """Where jobs' tasks travel, shared by the server (which sends) and the worker."""

    broker_url: str = ""
    """Celery broker URL; defaults to a file-system broker under `data_dir`."""
    queue: str = "horn"
    """The Celery queue jobs are sent to when a job names none."""
    job_soft_time_limit: int = Field(default=24 * 3600, ge=1)
    """Seconds after which a job's task is asked to stop (Celery's soft time limit)."""
    job_time_limit: int = Field(default=24 * 3600 + 300, ge=1)
    """Seconds after which a job's task is killed; Redis's redelivery timeout exceeds it."""

    def resolved_broker_url(self) -> str:
        """The broker URL, defaulting to a broker that needs no service."""
        return self.broker_url or "filesystem://localhost//"

    def uses_filesystem_broker(self) -> bool:
        """Whether the broker is Celery's file-system transport (the embedded mode)."""
        return self.resolved_broker_url().startswith("filesystem")

    def broker_folder(self) -> Path:
        """The file-system broker's folder (under `data_dir`)."""
        return self.data_dir / "broker"

    def make_broker_folders(self) -> None:
        """Create the file-system broker's folders; nothing for any other broker.

        Call it before a Celery app of this broker sends or consumes.
        """
        if self.uses_filesystem_broker():
            for sub in _FILESYSTEM_FOLDERS:
                (self.broker_folder() / sub).mkdir(parents=True, exist_ok=True)

    def broker_transport_options(self) -> dict[str, Any]:
        """Transport options for the broker in use (no folder is made here)."""
        if self.uses_filesystem_broker():
            folder = self.broker_folder()
            return {
                # Celery's broadcast state (kombu's default is ./control, in the cwd).
                "control_folder": str(folder / "control"),
                "data_folder_in": str(folder / "queue"),
                "data_folder_out": str(folder / "queue"),
                "processed_folder": str(folder / "processed"),
                "store_processed": False,
                "polling_interval": 0.05,
            }
        # Redis: a message not acknowledged within the visibility timeout is
        # delivered again. Jobs are acknowledged late (after they finish), so the
        # timeout must exceed the longest job; the database lease, not Redis,
        # decides whether a second delivery may run (it may not while leased).
        # Workers consume each named queue's `.high`, plain and `.low` queues in that
        # order ("priority" strategy), so high-priority jobs are taken first.
        return {"visibility_timeout": self.job_time_limit + 3600,
                "queue_order_strategy": "priority"}
