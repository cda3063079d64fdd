"""The FastAPI application."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from horn.server import __version__
from horn.server.api.main import include_api
from horn.server.api.routes import health
from horn.server.core.errors import install_error_handlers
from horn.server.core.ratelimit import RateLimiter
from horn.server.dashboard import install_dashboard
from horn.server.metrics import install_metrics
from horn.server.queue import make_sender
from horn.server.reaper import Reaper
from horn.server.store.blobs import make_blob_store
from horn.server.store.db import make_engine
from horn.server.store.loopreads import LoopReads, loop_reads_url
from horn.server.store.migrate import check_schema
from horn.settings import ServerSettings, get_server_settings


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """Build the app for `settings` (the environment's by default).

    Refuses to start when the database schema is not current, saying which
    command to run.
    """
    settings = settings or get_server_settings()
    engine = make_engine(settings.resolved_database_url(), pool_size=settings.server_threads)
    check_schema(engine)
    reads_url = loop_reads_url(settings.resolved_database_url())
    loop_reads = LoopReads(reads_url) if reads_url else None

    sender = make_sender(settings)
    reaper = Reaper(settings, engine, sender)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = (
            settings.server_threads)
        reaper.start()
        # What startup loaded lives as long as the process: out of the collector's
        # sight, full collections under load scan only what requests allocate.
        gc.collect()
        gc.freeze()
        yield
        reaper.stop()
        if loop_reads is not None:
            await loop_reads.close()
        wakeups = getattr(app.state, "event_wakeups", None)
        if wakeups is not None:
            await wakeups[1].close()
        relay_redis = getattr(app.state, "relay_redis", None)
        if relay_redis is not None:
            await relay_redis[1].aclose()
        engine.dispose()

    app = FastAPI(
        title="horn",
        version=__version__,
        summary="Keras training as a service.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.loop_reads = loop_reads
    app.state.blob_store = make_blob_store(settings)
    app.state.sender = sender
    app.state.reaper = reaper
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_second,
                                         settings.rate_limit_burst)
    install_error_handlers(app)
    install_metrics(app)
    app.include_router(health.router)
    include_api(app)
    install_dashboard(app, settings)
    return app
