"""Celery tasks of the worker. One task, `horn.run_job`, dispatches on the job's kind."""

from horn.worker.tasks.run_job import run_job

__all__ = ["run_job"]
