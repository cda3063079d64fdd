"""Integration tests run against `horn_stack` and `conn`: a real uvicorn server and a
real Celery worker, as separate processes, against PostgreSQL and Redis. Both fixtures
live in `tests/conftest.py`, shared with `tests/keras_programs` so that one pytest run
starts the stack once. Tests talk to it only through the SDK or HTTP.
"""
