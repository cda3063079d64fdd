"""FastAPI dependencies, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from server.core.config import Settings
from server.store.blobs import BlobStore
from server.store.db import session_factory
from server.store.tables import LOCAL_USER


def get_app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One database session per request; the route commits what it changes."""
    with session_factory(request.app.state.engine)() as session:
        yield session


def get_blob_store(request: Request) -> BlobStore:
    """The app's blob store."""
    store: BlobStore = request.app.state.blob_store
    return store


def get_current_user() -> str:
    """The caller. Until authentication lands, everything belongs to the local user."""
    return LOCAL_USER


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
BlobStoreDep = Annotated[BlobStore, Depends(get_blob_store)]
CurrentUser = Annotated[str, Depends(get_current_user)]
