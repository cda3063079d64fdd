"""The worker's event sink and database retries on PostgreSQL: an outage is waited out,
a write the database refuses is not (it would be refused on every retry) and does not
hold back the writes after it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, OperationalError

from horn.schemas.events import CancelRequested, EpochBegin, EpochEnd, Event
from horn.server.store import jobs, models, users
from horn.server.store.db import make_engine, transaction
from horn.server.store.migrate import upgrade
from horn.server.store.tables import utcnow
from horn.worker.events import EventSink, retry_db
from tests.conftest import ADMIN_URL
from tests.integration import stack

WORKER = "test-host:1"


@pytest.fixture()
def engine() -> Iterator[Engine]:
    url, name = stack.create_database(ADMIN_URL)
    upgrade(url)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
        stack.drop_database(ADMIN_URL, name)


@pytest.fixture()
def job_id(engine: Engine) -> str:
    """A job claimed by `WORKER`."""
    with transaction(engine) as session:
        users.ensure_user(session, "u")
        model = models.create_model(session, "u", "m", {"class_name": "Sequential"})
        job = jobs.create_job(session, owner="u", model_id=model.id, kind="fit", queue="q",
                              compile_config={}, compile_id=None, args={}, data={},
                              idempotency_key="k")
    with transaction(engine) as session:
        assert jobs.claim_job(session, job.id, WORKER, timedelta(seconds=60))
    return job.id


def _untyped(type_: str) -> Event:
    """An event of a type no model has (unchecked), for writes the tests provoke."""
    return CancelRequested.model_construct(type=type_)  # type: ignore[arg-type]


def _unreachable() -> Engine:
    """An engine whose database cannot be reached (nothing listens on its port)."""
    return make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{stack.free_port()}/x")


def _event_types(engine: Engine, job_id: str) -> list[str]:
    """The job's events written by the tests (not the ledger's `status` events)."""
    with transaction(engine) as session:
        return [event.type for event in jobs.events_after(session, job_id, 0)
                if event.type != "status"]


def test_a_refused_write_is_raised_at_once(engine: Engine, job_id: str) -> None:
    calls = []

    def write() -> None:
        calls.append(1)
        with transaction(engine) as session:  # the type column holds 32 characters
            jobs.add_event(session, job_id, _untyped("x" * 40))

    with pytest.raises(DataError):
        retry_db(write, seconds=30)
    assert len(calls) == 1


def test_a_program_limit_is_not_taken_for_an_outage(engine: Engine, job_id: str) -> None:
    calls = []

    def write() -> None:  # an index row over PostgreSQL's limit: SQLSTATE 54000
        calls.append(1)
        with transaction(engine) as session:
            jobs.add_epoch_metrics(session, job_id, 0, {secrets.token_hex(5_000): 1.0}, None,
                                   utcnow())

    with pytest.raises(OperationalError) as raised:
        retry_db(write, seconds=30)
    assert getattr(raised.value.orig, "sqlstate", "").startswith("54")
    assert len(calls) == 1


def test_an_outage_is_waited_out(engine: Engine, job_id: str) -> None:
    engines = [_unreachable(), engine]

    def write() -> str:
        with transaction(engines.pop(0)) as session:
            jobs.add_event(session, job_id, _untyped("note"))
        return "written"

    assert retry_db(write, seconds=30) == "written"
    assert not engines  # the first try met the outage, the second wrote
    assert _event_types(engine, job_id) == ["note"]


def test_refused_writes_are_dropped_and_later_ones_go_out(engine: Engine, job_id: str
                                                          ) -> None:
    sink = EventSink(engine, job_id, WORKER, lease_seconds=60)
    sink.emit(_untyped("x" * 40), defer=True)
    with pytest.raises(DataError):
        sink.emit(EpochBegin(epoch=0))
    assert sink.pending == 0
    sink.emit(EpochBegin(epoch=1))
    assert _event_types(engine, job_id) == ["epoch_begin"]


def test_writes_wait_in_memory_through_an_outage(engine: Engine, job_id: str) -> None:
    sink = EventSink(_unreachable(), job_id, WORKER, lease_seconds=60)
    sink.emit(_untyped("batch"), defer=True)
    assert sink.flush() is False
    assert sink.heartbeat() is None
    assert sink.pending == 1
    sink.engine = engine  # the database is back
    assert sink.flush() is True
    assert sink.pending == 0
    assert _event_types(engine, job_id) == ["batch"]


def test_the_outage_check_reads_the_error() -> None:
    from horn.server.store.db import is_outage

    assert is_outage(OperationalError("SELECT 1", {}, Exception("connection refused")))
    assert not is_outage(DataError("INSERT", {}, Exception("value too long")))


def _record(sink: EventSink, epoch: int, logs: dict[str, float | str]) -> None:
    """What the progress callback hands the sink when an epoch ends."""
    history = {"history": {k: [v] for k, v in logs.items()}, "epoch": [epoch]}
    sink.epoch_end(EpochEnd(epoch=epoch, logs=logs, elapsed=1.0), step=10,
                   checkpoint=(1, history, b"weights of epoch %d" % epoch))


def test_an_epoch_record_handed_to_the_writer_goes_out_whole(engine: Engine, job_id: str
                                                              ) -> None:
    sink = EventSink(engine, job_id, WORKER, lease_seconds=60)
    woken: list[int] = []
    sink.writer = lambda: woken.append(1)
    sink.emit(EpochBegin(epoch=0), defer=True)
    _record(sink, 0, {"loss": 0.5})
    assert woken == [1]  # training did not wait for the database
    assert _event_types(engine, job_id) == []
    assert sink.flush() is True  # what the heartbeat thread does when woken
    assert _event_types(engine, job_id) == ["epoch_begin", "epoch_end"]
    with transaction(engine) as session:
        checkpoint = jobs.get_checkpoint(session, job_id)
        assert checkpoint is not None and checkpoint.epoch == 0
        assert checkpoint.data == b"weights of epoch 0"
        assert [(m.epoch, m.name, m.value) for m in jobs.job_metrics(session, job_id)] == [
            (0, "loss", 0.5)]
    assert sink.pending == 0 and sink.refused is None


def test_a_refused_epoch_record_is_kept_for_training_to_raise(engine: Engine, job_id: str
                                                              ) -> None:
    sink = EventSink(engine, job_id, WORKER, lease_seconds=60)
    sink.writer = lambda: None
    _record(sink, 0, {secrets.token_hex(5_000): 1.0})  # an index row over the limit
    with pytest.raises(OperationalError) as raised:
        sink.flush()
    assert sink.refused is raised.value  # the progress callback raises it in training
    assert sink.pending == 0
    with transaction(engine) as session:
        assert jobs.get_checkpoint(session, job_id) is None  # nothing of the epoch


def test_a_refused_progress_event_does_not_fail_training(engine: Engine, job_id: str
                                                         ) -> None:
    sink = EventSink(engine, job_id, WORKER, lease_seconds=60)
    sink.emit(_untyped("x" * 40), defer=True)
    with pytest.raises(DataError):
        sink.flush()
    assert sink.refused is None
